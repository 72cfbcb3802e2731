// This crate is test code: every function in it is a test case or a test helper, and a
// failed expectation must panic with a message, so the workspace's unwrap/expect/panic
// and indexing lints do not apply here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

//! The conformance suite of tenantsync stores.
//!
//! One set of behavioural tests that every implementation of
//! [`tenantsync_store::Store`] and [`tenantsync_store::SyncStore`] must pass (SQLite and
//! PostgreSQL). A store crate runs it from one of its integration test binaries:
//!
//! ```text
//! async fn fresh_store(clock: std::sync::Arc<tenantsync_domain::FixedClock>) -> tenantsync_store_conformance::Fixture {
//!     let dir = tempfile::tempdir().unwrap();
//!     let store = MyStore::open_with_clock(dir.path(), clock.clone()).unwrap();
//!     let path = dir.path().to_owned();
//!     let reopen: tenantsync_store_conformance::Reopen =
//!         Box::new(move || Box::pin(async move { std::sync::Arc::new(MyStore::open(&path).unwrap()) as _ }));
//!     tenantsync_store_conformance::Fixture { store: std::sync::Arc::new(store), clock, reopen, guard: Box::new(dir) }
//! }
//!
//! tenantsync_store_conformance::conformance_tests!(crate::fresh_store);
//! ```
//!
//! The macro stamps out one `#[tokio::test]` per case, grouped in modules named like the
//! case modules of this crate (`tenants::find_by_domain_ignores_case`, ...), so a failure
//! names the case that broke. Each test gets a fresh, empty store whose clock is a
//! [`FixedClock`] standing at [`start`]; the store must take every timestamp it writes
//! from that clock. The calling crate needs `tokio` with the `macros` and
//! `rt-multi-thread` features. The macro defines modules named `tenants`, `users`,
//! `etag`, `lifecycle`, `groups`, `batches`, `feed`, `bulk`, `query`, `search`, `admin`, `counts`,
//! `concurrency`, `configs`, `commits`, `writer`, `leases` and `logs` where it is invoked
//! (each does `use super::*`), so invoke it in a module without items of those
//! names.
//!
//! Adding a case: write `pub async fn name(f: Fixture)` in a module under `cases` and
//! add its name to the list in [`__conformance_case_list`].

pub mod access;
pub mod cases;
pub mod connector;
pub mod console;
pub mod cpu;
pub mod dump;
pub mod pg_cluster;
pub mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use tenantsync_domain::FixedClock;
use tenantsync_store::SyncStore;

/// Opens another store on the same storage, as another process would (its own
/// connections, locks and notification listeners; the system clock).
pub type Reopen = Box<dyn Fn() -> Pin<Box<dyn Future<Output = Arc<dyn SyncStore>> + Send>> + Send + Sync>;

/// A fresh, empty store for one test case.
pub struct Fixture {
    /// The store under test: its directory ([`tenantsync_store::Store`]) and its sync and
    /// admin state ([`SyncStore`]).
    pub store: Arc<dyn SyncStore>,
    /// The clock the store takes its timestamps from.
    pub clock: Arc<FixedClock>,
    /// Another store on the same storage, for the cases about other processes.
    pub reopen: Reopen,
    /// Whatever must live as long as the store (temporary directories, servers).
    pub guard: Box<dyn std::any::Any + Send>,
}

impl std::fmt::Debug for Fixture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Fixture").field("store", &self.store).field("clock", &self.clock).finish_non_exhaustive()
    }
}

/// Where every case's clock starts: 2026-01-01T00:00:00Z.
pub fn start() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_767_225_600).unwrap()
}

/// A new clock standing at [`start`]; the macro hands one to the store factory.
pub fn start_clock() -> Arc<FixedClock> {
    Arc::new(FixedClock::new(start()))
}

/// Stamps out the conformance suite: one `#[tokio::test]` per case, calling
/// `$factory(clock).await` for a fresh [`Fixture`]. `$factory` is a path to an
/// `async fn(Arc<FixedClock>) -> Fixture`.
#[macro_export]
macro_rules! conformance_tests {
    ($factory:path) => {
        $crate::__conformance_case_list!($crate::__conformance_stamp; $factory);
    };
}

/// The one list of conformance cases, by module. Adding a case is one line here.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_case_list {
    ($callback:path; $($args:tt)*) => {
        $callback! { ($($args)*)
            tenants {
                create_get_and_list,
                find_by_domain_ignores_case,
                duplicate_domain_is_domain_conflict,
                duplicate_id_is_tenant_conflict,
                retention_defaults_and_can_be_set,
                new_tenant_has_an_empty_feed,
                unknown_tenant_is_tenant_not_found_everywhere,
            }
            users {
                create_round_trips_every_attribute,
                create_sets_version_timestamps_and_one_create_change,
                a_sync_listing_carries_what_a_sync_reads,
                find_by_upn_ignores_case,
                find_by_mail_returns_every_match,
                anchor_makes_a_user_external_and_finds_it,
                users_by_anchor_tenant_page_in_anchor_order,
                live_copies_are_counted_by_anchor_tenant,
                a_copy_naming_a_missing_manager_is_created_without_one,
                upn_differing_only_in_case_is_upn_conflict,
                duplicate_anchor_is_anchor_conflict,
                duplicate_id_is_id_conflict,
                users_are_isolated_per_tenant,
                manager_by_id_and_by_upn,
                unknown_manager_is_refused,
                self_manager_is_refused,
                update_records_only_changed_attributes,
                update_that_changes_nothing_keeps_version_and_feed,
                update_sets_and_clears_the_manager,
                upn_change_frees_the_old_upn,
                upn_change_to_a_taken_upn_is_upn_conflict,
                upn_change_of_case_only_is_allowed,
                invalid_patch_is_refused_and_changes_nothing,
                unknown_user_is_not_found,
                list_pages_in_id_order,
                list_and_count_by_visibility,
            }
            etag {
                update_user,
                soft_delete_user,
                restore_user,
                hard_delete_user,
                update_group,
                soft_delete_group,
                restore_group,
                hard_delete_group,
                add_member,
                remove_member,
            }
            lifecycle {
                soft_delete_hides_user_and_keeps_upn_reserved,
                soft_deleted_user_cannot_be_updated,
                soft_delete_of_a_deleted_user_is_object_deleted,
                restore_brings_the_user_back,
                restore_of_a_live_user_is_not_deleted,
                soft_deleted_member_is_hidden_and_returns_on_restore,
                hard_delete_removes_memberships_and_clears_reports,
                hard_delete_frees_the_upn,
                hard_delete_of_a_soft_deleted_user,
                purge_removes_only_objects_deleted_before_cutoff,
                purge_of_a_user_cleans_memberships_and_reports,
                purge_keeps_objects_deleted_exactly_at_cutoff,
            }
            groups {
                create_get_and_find_by_anchor,
                update_records_only_changed_attributes,
                list_pages_and_visibility,
                soft_delete_restore_and_hard_delete,
                soft_deleted_group_cannot_be_updated,
                add_and_remove_members_with_changes,
                list_members_pages_in_id_order,
                member_exists_and_not_a_member,
                soft_deleted_user_or_group_cannot_gain_members,
                membership_of_unknown_objects_is_not_found,
                member_of_lists_direct_groups,
                hard_delete_group_removes_its_memberships,
                users_and_groups_are_distinct,
            }
            batches {
                atomic_success_results_line_up,
                atomic_failure_leaves_nothing,
                independent_failure_keeps_the_others,
                later_ops_see_earlier_ops_of_the_batch,
            }
            feed {
                every_write_appends_the_expected_changes,
                sequences_start_at_one_per_tenant,
                rejected_writes_consume_no_sequence_number,
                changes_since_pages_with_cursor_and_limit,
                changes_since_with_nothing_new_returns_the_given_cursor,
                subscribe_notifies_after_commit_with_the_head,
                no_notice_for_rejected_or_noop_writes,
                one_notice_per_batch,
                wait_for_changes_returns_at_once_when_behind,
                wait_for_changes_wakes_on_a_change_from_another_task,
                wait_for_changes_ignores_other_tenants,
                purge_and_hard_delete_notify_subscribers,
            }
            bulk {
                whole_import_commits_all_good_rows,
                whole_import_with_upn_of_existing_user_writes_nothing,
                whole_import_with_duplicate_inside_import_writes_nothing,
                whole_import_with_unknown_manager_writes_nothing,
                whole_import_reports_every_rejected_row,
                forward_manager_references_resolve,
                abort_writes_nothing,
                drop_without_finish_writes_nothing,
                empty_import_commits_nothing,
                commit_every_stops_at_the_first_failing_unit,
                commit_every_commits_all_units_across_uneven_pushes,
                commit_every_abort_keeps_committed_units,
                import_notifies_subscribers,
                rejections_beyond_the_first_thousand_are_counted,
                self_manager_row_is_rejected,
                large_import_commits_every_row,
                writes_during_an_import_are_serialized,
                concurrent_imports_both_complete,
            }
            query {
                filter_table,
                sort_and_page_with_total,
                keyset_pages_walk_the_offset_order,
                groups_by_attribute_and_membership,
                users_by_group_and_their_groups,
                extension_attribute_filters,
                fields_of_the_other_kind_are_unsupported_query,
                tokens_store_hashes_list_and_revoke,
            }
            search {
                a_search_pages_the_name_matches_then_the_upn_only_ones,
                a_search_cursor_stays_put_when_users_come_and_go,
                a_search_splits_ties_by_id,
                a_search_page_passes_over_so_many_name_matches_at_most,
            }
            admin {
                audit_commits_with_its_write_or_not_at_all,
                audit_pages_newest_first_per_tenant_and_purges,
                admin_objects_are_per_tenant_and_audited,
                provisioning_log_pages_filter_and_continue,
                partner_rows_are_listed_and_deleted,
            }
            counts {
                counts_follow_every_write,
                set_membership_is_idempotent,
                release_upn_frees_the_name_until_restore,
                bare_names_are_kept_until_the_user_goes,
            }
            concurrency {
                racing_updates_on_one_version_have_one_winner,
                concurrent_increments_lose_no_update,
                concurrent_writers_keep_the_feed_gapless,
                readers_see_changes_and_objects_together,
            }
            configs {
                partner_settings_are_absent_until_set_and_replaced_whole,
                partner_settings_need_the_tenant,
                configuration_round_trips_and_lists_in_creation_order,
                one_configuration_per_pair,
                configuration_needs_both_tenants,
                update_keeps_the_pair,
                delete_removes_the_configuration_and_its_state,
                unknown_configuration_is_not_found_everywhere,
                job_state_starts_empty_and_round_trips_escrows,
                job_changes_notify_job_subscribers,
                a_tenants_configurations_are_paged_at_either_end_and_counted,
                partners_and_tokens_are_paged_in_key_order,
            }
            commits {
                commit_sync_writes_ops_logs_and_state_together,
                refused_writes_fail_alone_and_their_records_say_so,
                commit_sync_of_an_unknown_configuration_writes_nothing,
                commit_sync_to_an_unknown_tenant_writes_nothing,
                commit_sync_notifies_the_target_and_not_job_subscribers,
                a_run_of_copies_keeps_its_results_in_order_and_its_managers_right,
                values_a_record_leaves_in_its_copy_are_stored_as_its_own,
            }
            writer {
                a_flush_commits_the_writes_their_logs_and_the_state,
                a_writer_dropped_without_a_flush_keeps_each_write_whole,
                other_writers_do_not_wait_for_an_open_stream,
                writes_in_flight_apply_in_call_order,
                a_store_error_fails_the_write_and_loses_none_of_the_committed_ones,
                a_writer_left_idle_commits_and_goes_on,
                a_run_s_copies_are_counted_by_their_source,
                a_copy_gets_a_manager_made_earlier_in_the_run_only_while_it_lives,
                a_run_s_copies_read_back_as_written_whatever_came_before,
            }
            leases {
                a_held_lease_is_not_granted_twice,
                a_lease_of_another_store_on_the_same_storage_excludes,
                leases_of_different_jobs_are_independent,
                a_lease_of_an_unknown_job_is_not_found,
                commits_of_another_store_are_heard,
                job_changes_of_another_store_are_heard,
            }
            logs {
                every_query_answers_what_the_records_say,
                purging_removes_exactly_the_older_records,
            }
        }
    };
}

/// Expands the case list into test functions.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_stamp {
    (($factory:path) $( $module:ident { $($case:ident),* $(,)? } )*) => {
        $(
            #[allow(unused_imports)]
            mod $module {
                use super::*;
                $(
                    #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
                    async fn $case() {
                        let clock = $crate::start_clock();
                        $crate::cases::$module::$case($factory(::std::sync::Arc::clone(&clock)).await).await
                    }
                )*
            }
        )*
    };
}

/// Checks at compile time that every case in the list exists with the right signature.
#[allow(unreachable_code)]
#[cfg(test)]
mod list_check {
    async fn never(_clock: Arc<FixedClock>) -> crate::Fixture {
        unreachable!()
    }
    use super::*;
    macro_rules! check {
        (($factory:path) $( $module:ident { $($case:ident),* $(,)? } )*) => {
            #[test]
            fn every_listed_case_exists() {
                $( $( let _ = || async { crate::cases::$module::$case($factory(start_clock()).await).await }; )* )*
            }
        };
    }
    __conformance_case_list!(check; never);
}
