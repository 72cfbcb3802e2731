//! The event-driven scheduler and the job lease.
use crate::support::World;
use std::time::Duration;
use tenantsync_engine::scheduler::{self, JobEvent, SchedulerOptions};

/// The scheduler running in the background, its events in a channel.
struct Service {
    events: tokio::sync::mpsc::UnboundedReceiver<JobEvent>,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<Result<(), tenantsync_engine::EngineError>>,
}

/// Safety-net and external-check intervals long enough that only commits wake jobs.
const QUIET: SchedulerOptions = SchedulerOptions {
    interval: Duration::from_secs(3600),
    external_check: Duration::from_secs(3600),
    lease_retry: Duration::from_secs(3600),
    log_retention: None,
};

impl Service {
    fn start(w: &World, options: SchedulerOptions) -> Service {
        let engine = w.engine.clone();
        let (stop, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let (events_tx, events) = tokio::sync::mpsc::unbounded_channel();
        let task = tokio::spawn(async move {
            scheduler::run(
                &engine,
                options,
                async {
                    let _ = stop_rx.await;
                },
                move |e| {
                    let _ = events_tx.send(e);
                },
            )
            .await
        });
        Service { events, stop, task }
    }

    /// The next event (bounded wait).
    async fn next(&mut self) -> JobEvent {
        tokio::time::timeout(Duration::from_secs(20), self.events.recv()).await.unwrap().unwrap()
    }

    /// Stops the service and checks it ends cleanly.
    async fn stop(self) {
        self.stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(20), self.task).await.unwrap().unwrap().unwrap();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_in_the_source_wakes_its_jobs_and_shutdown_is_clean() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let c = w.arrow(&s, &t, |_| {}).await;
    // A long safety-net interval: only the commit can wake the job.
    let mut service = Service::start(&w, QUIET);
    // The first pass runs the job once (initial cycle, nothing to do).
    let first = service.next().await;
    assert!(matches!(first, JobEvent::Ran { id, .. } if id == c.id));
    let alice = w.user(&s, "alice", &[("department", "Sales")]).await;
    // Wait (bounded) for the cycle the commit caused; a cycle may also run for other
    // reasons, so look for the one that created alice.
    let created = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match service.events.recv().await {
                Some(JobEvent::Ran { report, .. }) if report.created == 1 => return true,
                Some(JobEvent::Failed { message, .. }) => panic!("{message}"),
                Some(_) => continue,
                None => return false,
            }
        }
    })
    .await
    .expect("the commit woke the job");
    assert!(created);
    assert!(w.copy(&t, &alice).await.is_some());
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_change_in_the_source_wakes_group_provisioning() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let alice = w.user(&s, "alice", &[]).await;
    let g = w.group(&s, "Sales", &[]).await;
    w.group_arrow(&s, &t, vec![tenantsync_domain::Assignment::Group(g.id)], |_| {}).await;
    let mut service = Service::start(&w, QUIET);
    // The first pass creates the (empty) group.
    let first = service.next().await;
    assert!(matches!(first, JobEvent::Ran { ref report, .. } if report.groups.created == 1), "{first:?}");
    w.store.apply_one(s.id, tenantsync_store::WriteOp::AddMember { group: g.id, user: alice.id, if_match: None }).await.unwrap();
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match service.events.recv().await {
                Some(JobEvent::Ran { report, .. }) if report.groups.members_added == 1 => return,
                Some(JobEvent::Failed { message, .. }) => panic!("{message}"),
                Some(_) => continue,
                None => panic!("the service stopped"),
            }
        }
    })
    .await
    .expect("the membership change woke the job");
    let copy = w.group_copy(&t, &g).await.unwrap();
    assert_eq!(w.members(&t, copy.id).await, [w.copy(&t, &alice).await.unwrap().id].into());
    service.stop().await;
}

#[tokio::test]
async fn a_job_runs_once_at_a_time() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let c = w.arrow(&s, &t, |_| {}).await;
    let lease = w.store.try_lease_job(c.id).await.unwrap().expect("free");
    assert!(w.store.try_lease_job(c.id).await.unwrap().is_none(), "held");
    let err = w.engine.run_cycle(c.id).await.unwrap_err();
    assert_eq!(err.code(), "job_running");
    drop(lease);
    w.run(&c).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logs_past_their_retention_are_purged_by_the_service() {
    let w = World::new();
    let (s, t) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await);
    let c = w.arrow(&s, &t, |_| {}).await;
    w.user(&s, "alice", &[]).await;
    w.run(&c).await;
    let query = tenantsync_store::LogQuery { config_id: Some(c.id), limit: 100, ..Default::default() };
    assert_eq!(w.store.provisioning_logs(&query).await.unwrap().len(), 1, "the create is logged");
    // An hour later, by the store's clock.
    w.clock.advance_ms(3600 * 1000);

    // Kept while within retention...
    let keep_all = SchedulerOptions { log_retention: Some(Duration::from_secs(3601)), ..QUIET };
    one_pass(&w, keep_all).await;
    assert_eq!(w.store.provisioning_logs(&query).await.unwrap().len(), 1);
    // ...purged once older than it.
    let keep_little = SchedulerOptions { log_retention: Some(Duration::from_secs(3599)), ..keep_all };
    one_pass(&w, keep_little).await;
    assert!(w.store.provisioning_logs(&query).await.unwrap().is_empty());
}

/// Runs the service until its first pass has run every job, then stops it.
async fn one_pass(w: &World, options: SchedulerOptions) {
    let mut service = Service::start(w, options);
    let first = service.next().await;
    assert!(matches!(first, JobEvent::Ran { .. }), "{first:?}");
    service.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_commit_of_another_process_is_not_lost_when_the_service_wakes_for_something_else() {
    let w = World::new();
    let (s, t, other) = (w.tenant("Fabrikam").await, w.tenant("Contoso").await, w.tenant("Tailspin").await);
    let c = w.arrow(&s, &t, |_| {}).await;
    // The external check is slow enough for an unrelated wake-up to come first.
    let mut service = Service::start(&w, SchedulerOptions { external_check: Duration::from_millis(700), ..QUIET });
    let first = service.next().await;
    assert!(matches!(first, JobEvent::Ran { id, .. } if id == c.id));
    // Another process creates a user in the source; then, before the next external
    // check, a commit of this process to an unrelated tenant wakes the service.
    let elsewhere = w.other_process().await;
    let dave = elsewhere.create_user(s.id, tenantsync_domain::NewUser::new(World::upn("dave@fabrikam.example"))).await.unwrap();
    w.user(&other, "noise", &[]).await;
    let synced = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            if w.copy(&t, &dave).await.is_some() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    service.stop().await;
    assert!(synced.is_ok(), "the other process's commit reached the target");
}
