"""Drives tenantsync's entitlement management and access reviews (/v1.0/identityGovernance)
with the real Microsoft Graph SDK for Python (PyPI msgraph-sdk), through its request
builders, as drive.py does for users and sync jobs.

usage: python governance.py BASE_URL ADMIN_TOKEN REQUESTOR_TOKEN APPROVER_TOKEN

The tenant (woodgrove.example) has two users made by the CLI before `serve` started:
ria@woodgrove.example, the requestor, and sam@woodgrove.example, the approver and reviewer,
each with a personal token (`token create --user`). `serve` runs with a short
`--access-interval`, so the review the script's policy schedules opens within seconds.

The admin makes a connected organization with an internal and an external sponsor, a
catalog, a group brought into it by a resource request, two access packages (one granting
the group, incompatible with the other), a policy with an approval stage, an expiry and
two questions, and the tenant's settings. Ria requests the package with her own token
(answering the required question), cancels, and requests again; Sam approves with his;
the admin lists and reprocesses the assignment; Ria lists hers. The admin turns the
policy's reviews on (PUT); when the review opens, Sam lists its decisions and denies
Ria's access; the admin stops the instance, which applies the decision and ends the
assignment.

Every answer is parsed into the SDK's model and compared with its JSON (drive.py's
`strict`): a property the model lacks or a value it cannot read fails the run.
"""

import asyncio
import datetime
import sys

from drive import STEPS, Client, Failed, fail, step, strict
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.identity_governance.entitlement_management.assignment_policies.assignment_policies_request_builder import (
    AssignmentPoliciesRequestBuilder,
)
from msgraph.generated.models.access_package import AccessPackage
from msgraph.generated.models.access_package_answer_choice import AccessPackageAnswerChoice
from msgraph.generated.models.access_package_answer_string import AccessPackageAnswerString
from msgraph.generated.models.access_package_approval_stage import AccessPackageApprovalStage
from msgraph.generated.models.access_package_assignment import AccessPackageAssignment
from msgraph.generated.models.access_package_assignment_approval_settings import AccessPackageAssignmentApprovalSettings
from msgraph.generated.models.access_package_assignment_policy import AccessPackageAssignmentPolicy
from msgraph.generated.models.access_package_assignment_request import AccessPackageAssignmentRequest
from msgraph.generated.models.access_package_assignment_requestor_settings import AccessPackageAssignmentRequestorSettings
from msgraph.generated.models.access_package_assignment_review_settings import AccessPackageAssignmentReviewSettings
from msgraph.generated.models.access_package_assignment_state import AccessPackageAssignmentState
from msgraph.generated.models.access_package_catalog import AccessPackageCatalog
from msgraph.generated.models.access_package_catalog_state import AccessPackageCatalogState
from msgraph.generated.models.access_package_catalog_type import AccessPackageCatalogType
from msgraph.generated.models.access_package_external_user_lifecycle_action import AccessPackageExternalUserLifecycleAction
from msgraph.generated.models.access_package_multiple_choice_question import AccessPackageMultipleChoiceQuestion
from msgraph.generated.models.access_package_question import AccessPackageQuestion
from msgraph.generated.models.access_package_request_state import AccessPackageRequestState
from msgraph.generated.models.access_package_request_type import AccessPackageRequestType
from msgraph.generated.models.access_package_resource import AccessPackageResource
from msgraph.generated.models.access_package_resource_request import AccessPackageResourceRequest
from msgraph.generated.models.access_package_resource_role import AccessPackageResourceRole
from msgraph.generated.models.access_package_resource_role_scope import AccessPackageResourceRoleScope
from msgraph.generated.models.access_package_resource_scope import AccessPackageResourceScope
from msgraph.generated.models.access_package_text_input_question import AccessPackageTextInputQuestion
from msgraph.generated.models.access_review_expiration_behavior import AccessReviewExpirationBehavior
from msgraph.generated.models.access_review_instance_decision_item import AccessReviewInstanceDecisionItem
from msgraph.generated.models.allowed_target_scope import AllowedTargetScope
from msgraph.generated.models.approval_stage import ApprovalStage
from msgraph.generated.models.connected_organization import ConnectedOrganization
from msgraph.generated.models.connected_organization_state import ConnectedOrganizationState
from msgraph.generated.models.domain_identity_source import DomainIdentitySource
from msgraph.generated.models.entitlement_management_schedule import EntitlementManagementSchedule
from msgraph.generated.models.entitlement_management_settings import EntitlementManagementSettings
from msgraph.generated.models.expiration_pattern import ExpirationPattern
from msgraph.generated.models.expiration_pattern_type import ExpirationPatternType
from msgraph.generated.models.group import Group
from msgraph.generated.models.patterned_recurrence import PatternedRecurrence
from msgraph.generated.models.recurrence_pattern import RecurrencePattern
from msgraph.generated.models.recurrence_pattern_type import RecurrencePatternType
from msgraph.generated.models.recurrence_range import RecurrenceRange
from msgraph.generated.models.recurrence_range_type import RecurrenceRangeType
from msgraph.generated.models.reference_create import ReferenceCreate
from msgraph.generated.models.single_user import SingleUser
from msgraph.generated.models.user import User


def days(n):
    """A duration to send: kiota's writer turns a `timedelta` into Python's `str()` of it
    ("90 days, 0:00:00"), which is no ISO 8601 (Graph refuses it too); it passes a string
    that parses as a duration through, so requests carry Graph's "P90D". Answers are read
    into `timedelta`s by the SDK, and compared as such."""
    return f"P{n}D"


def expect(what, got, wanted):
    if got != wanted:
        fail(f"{what}: {got!r}, wanted {wanted!r}")


async def main(base, admin_token, ria_token, sam_token):
    adm, ria, sam = Client(base, admin_token), Client(base, ria_token), Client(base, sam_token)
    a, r, s = adm.graph, ria.graph, sam.graph
    em, rem, sem = a.identity_governance.entitlement_management, r.identity_governance.entitlement_management, s.identity_governance.entitlement_management

    # Who is who: the personal tokens read the directory as readers.
    users = strict(adm, await step("users", a.users.get()), "users")
    by_upn = {u.user_principal_name: u.id for u in users.value}
    ria_id, sam_id = by_upn["ria@woodgrove.example"], by_upn["sam@woodgrove.example"]
    guest = strict(
        adm,
        await step(
            "create the partner's contact (a guest)",
            a.users.post(User(account_enabled=True, display_name="Lee Wong", mail_nickname="lee", user_principal_name="lee@woodgrove.example")),
        ),
        "user",
    )

    # A connected organization with an internal and an external sponsor.
    org = strict(
        adm,
        await step(
            "create a connected organization",
            em.connected_organizations.post(
                ConnectedOrganization(display_name="Litware", description="the joint venture's partner", identity_sources=[DomainIdentitySource(domain_name="litware.example", display_name="Litware")])
            ),
        ),
        "connectedOrganization",
    )
    expect("connected organization state", org.state, ConnectedOrganizationState.Configured)
    expect("identity source", org.identity_sources[0].domain_name, "litware.example")
    org_item = em.connected_organizations.by_connected_organization_id(org.id)
    await step("add an internal sponsor", org_item.internal_sponsors.ref.post(ReferenceCreate(odata_id=f"{base}/users/{sam_id}")))
    await step("add an external sponsor", org_item.external_sponsors.ref.post(ReferenceCreate(odata_id=f"{base}/users/{guest.id}")))
    inside = strict(adm, await step("list internal sponsors", org_item.internal_sponsors.get()), "internalSponsors")
    expect("internal sponsors", [o.id for o in inside.value], [sam_id])
    outside = strict(adm, await step("list external sponsors", org_item.external_sponsors.get()), "externalSponsors")
    expect("external sponsors", [o.id for o in outside.value], [guest.id])
    await step("remove the external sponsor", org_item.external_sponsors.by_directory_object_id(guest.id).ref.delete())
    outside = strict(adm, await step("list external sponsors again", org_item.external_sponsors.get()), "externalSponsors")
    expect("external sponsors after removal", outside.value, [])
    await step("update the connected organization", org_item.patch(ConnectedOrganization(state=ConnectedOrganizationState.Proposed)))
    got = strict(adm, await step("get the connected organization", org_item.get()), "connectedOrganization")
    expect("state after PATCH", got.state, ConnectedOrganizationState.Proposed)
    orgs = strict(adm, await step("list connected organizations", em.connected_organizations.get()), "connectedOrganizations")
    expect("organizations", [o.id for o in orgs.value], [org.id])

    # A catalog, a group brought into it by a resource request.
    catalog = strict(
        adm,
        await step("create a catalog", em.catalogs.post(AccessPackageCatalog(display_name="Joint venture", description="Falcon", is_externally_visible=True))),
        "catalog",
    )
    expect("catalog type", catalog.catalog_type, AccessPackageCatalogType.UserManaged)
    expect("catalog state", catalog.state, AccessPackageCatalogState.Published)
    strict(adm, await step("get the catalog", em.catalogs.by_access_package_catalog_id(catalog.id).get()), "catalog")
    strict(adm, await step("list catalogs", em.catalogs.get()), "catalogs")
    group = strict(
        adm,
        await step("create a group", a.groups.post(Group(display_name="Projects", mail_enabled=False, security_enabled=True, mail_nickname="projects"))),
        "group",
    )
    rr = strict(
        adm,
        await step(
            "resource request (adminAdd)",
            em.resource_requests.post(
                AccessPackageResourceRequest(
                    request_type=AccessPackageRequestType.AdminAdd,
                    resource=AccessPackageResource(origin_id=group.id, origin_system="AadGroup"),
                    catalog=AccessPackageCatalog(id=catalog.id),
                )
            ),
        ),
        "resourceRequest",
    )
    expect("resource request type", rr.request_type, AccessPackageRequestType.AdminAdd)
    expect("resource request state", rr.state, AccessPackageRequestState.Delivered)
    strict(adm, await step("list resource requests", em.resource_requests.get()), "resourceRequests")
    resources = strict(adm, await step("catalog resources", em.catalogs.by_access_package_catalog_id(catalog.id).resources.get()), "resources")
    expect("catalog resources", [(x.origin_id, x.origin_system) for x in resources.value], [(group.id, "AadGroup")])

    # Two packages: Falcon grants the group and is incompatible with Osprey.
    falcon = strict(
        adm,
        await step("create an access package", em.access_packages.post(AccessPackage(display_name="Falcon", description="project work", is_hidden=False, catalog=AccessPackageCatalog(id=catalog.id)))),
        "accessPackage",
    )
    osprey = strict(adm, await step("create a second access package", em.access_packages.post(AccessPackage(display_name="Osprey", catalog=AccessPackageCatalog(id=catalog.id)))), "accessPackage")
    pkg = em.access_packages.by_access_package_id(falcon.id)
    scope = AccessPackageResourceRoleScope(
        role=AccessPackageResourceRole(origin_id=f"Member_{group.id}", origin_system="AadGroup", resource=AccessPackageResource(origin_id=group.id, origin_system="AadGroup")),
        scope=AccessPackageResourceScope(origin_id=group.id, origin_system="AadGroup", is_root_scope=True),
    )
    made = strict(adm, await step("add a resource role scope", pkg.resource_role_scopes.post(scope)), "resourceRoleScope")
    expect("role scope's role", made.role.origin_id, f"Member_{group.id}")
    scopes = strict(adm, await step("list resource role scopes", pkg.resource_role_scopes.get()), "resourceRoleScopes")
    expect("role scopes", [x.scope.origin_id for x in scopes.value], [group.id])
    await step(
        "add an incompatible access package",
        pkg.incompatible_access_packages.ref.post(ReferenceCreate(odata_id=f"{base}/identityGovernance/entitlementManagement/accessPackages/{osprey.id}")),
    )
    incompatible = strict(adm, await step("list incompatible access packages", pkg.incompatible_access_packages.get()), "incompatibleAccessPackages")
    expect("incompatible packages", [p.id for p in incompatible.value], [osprey.id])
    strict(adm, await step("get the access package", pkg.get()), "accessPackage")
    strict(adm, await step("list access packages", em.access_packages.get()), "accessPackages")

    # A policy for the tenant's members: Sam approves, 90 days. Its reviews are turned on
    # by a PUT once Ria holds the package (an instance reviews the assignments held when
    # it starts).
    def policy_body(reviews=None):
        return AccessPackageAssignmentPolicy(
            display_name="Members, Sam approves",
            description="one stage",
            access_package=AccessPackage(id=falcon.id),
            allowed_target_scope=AllowedTargetScope.AllMemberUsers,
            expiration=ExpirationPattern(type=ExpirationPatternType.AfterDuration, duration=days(90)),
            requestor_settings=AccessPackageAssignmentRequestorSettings(enable_targets_to_self_add_access=True, enable_targets_to_self_remove_access=True),
            request_approval_settings=AccessPackageAssignmentApprovalSettings(
                is_approval_required_for_add=True,
                stages=[
                    AccessPackageApprovalStage(
                        duration_before_automatic_denial=days(14),
                        is_approver_justification_required=True,
                        primary_approvers=[SingleUser(user_id=sam_id)],
                    )
                ],
            ),
            review_settings=reviews,
            questions=[
                AccessPackageMultipleChoiceQuestion(
                    text="Which site?",
                    is_required=True,
                    choices=[AccessPackageAnswerChoice(actual_value="oslo", text="Oslo"), AccessPackageAnswerChoice(actual_value="lima", text="Lima")],
                ),
                AccessPackageTextInputQuestion(text="Badge number", is_required=False, regex_pattern="[0-9]+"),
            ],
        )

    policy = strict(adm, await step("create an assignment policy", em.assignment_policies.post(policy_body())), "assignmentPolicy")
    expect("policy scope", policy.allowed_target_scope, AllowedTargetScope.AllMemberUsers)
    expect("policy expiration", (policy.expiration.type, policy.expiration.duration), (ExpirationPatternType.AfterDuration, datetime.timedelta(days=90)))
    stage = policy.request_approval_settings.stages[0]
    expect("stage auto-denial", stage.duration_before_automatic_denial, datetime.timedelta(days=14))
    expect("stage approver", (type(stage.primary_approvers[0]).__name__, stage.primary_approvers[0].user_id), ("SingleUser", sam_id))
    expect("package of the policy", policy.access_package.id, falcon.id)
    expect("no reviews yet", policy.review_settings, None)
    site, badge = policy.questions
    expect("questions", (type(site).__name__, [c.actual_value for c in site.choices], type(badge).__name__), ("AccessPackageMultipleChoiceQuestion", ["oslo", "lima"], "AccessPackageTextInputQuestion"))
    if not site.id or not badge.id:
        fail(f"questions without ids: {site.id!r}, {badge.id!r}")
    pol = em.assignment_policies.by_access_package_assignment_policy_id(policy.id)
    again = strict(adm, await step("get the assignment policy", pol.get()), "assignmentPolicy")
    expect("policy read back", again.display_name, "Members, Sam approves")
    q = AssignmentPoliciesRequestBuilder.AssignmentPoliciesRequestBuilderGetQueryParameters(filter=f"accessPackage/id eq '{falcon.id}'")
    listed = strict(adm, await step("list assignment policies ($filter)", em.assignment_policies.get(RequestConfiguration(query_parameters=q))), "assignmentPolicies")
    expect("policies of the package", [p.id for p in listed.value], [policy.id])

    # The settings.
    await step(
        "update the settings",
        em.settings.patch(
            EntitlementManagementSettings(
                external_user_lifecycle_action=AccessPackageExternalUserLifecycleAction.BlockSignInAndDelete,
                duration_until_external_user_deleted_after_blocked=days(10),
            )
        ),
    )
    settings = strict(adm, await step("get the settings", em.settings.get()), "settings")
    expect(
        "settings",
        (settings.external_user_lifecycle_action, settings.duration_until_external_user_deleted_after_blocked),
        (AccessPackageExternalUserLifecycleAction.BlockSignInAndDelete, datetime.timedelta(days=10)),
    )

    # Ria requests with her own token, cancels, requests again.
    def ask():
        return AccessPackageAssignmentRequest(
            request_type=AccessPackageRequestType.UserAdd,
            justification="Falcon's design review",
            answers=[AccessPackageAnswerString(value="oslo", answered_question=AccessPackageQuestion(id=site.id))],
            assignment=AccessPackageAssignment(additional_data={"accessPackageId": falcon.id, "assignmentPolicyId": policy.id}),
        )

    first = strict(ria, await step("request (as the requestor)", rem.assignment_requests.post(ask())), "assignmentRequest")
    expect("request state", first.state, AccessPackageRequestState.PendingApproval)
    expect("request type", first.request_type, AccessPackageRequestType.UserAdd)
    expect("requestor", first.requestor.object_id, ria_id)
    expect("answers", [(x.value, x.answered_question.id) for x in first.answers], [("oslo", site.id)])
    await step("cancel the request", rem.assignment_requests.by_access_package_assignment_request_id(first.id).cancel.post())
    canceled = strict(ria, await step("get the canceled request", rem.assignment_requests.by_access_package_assignment_request_id(first.id).get()), "assignmentRequest")
    expect("state after cancel", canceled.state, AccessPackageRequestState.Canceled)
    request = strict(ria, await step("request again", rem.assignment_requests.post(ask())), "assignmentRequest")
    mine = strict(ria, await step("requests filterByCurrentUser(on='target')", rem.assignment_requests.filter_by_current_user_with_on("target").get()), "assignmentRequests")
    expect("Ria's requests", sorted(x.id for x in mine.value), sorted([first.id, request.id]))

    # Sam sees the approval and approves it.
    approvals = sem.access_package_assignment_approvals
    pending = strict(sam, await step("approvals filterByCurrentUser(on='approver')", approvals.filter_by_current_user_with_on("approver").get()), "approvals")
    expect("pending approvals", [x.id for x in pending.value], [request.id])
    approval = strict(sam, await step("get the approval", approvals.by_approval_id(request.id).get()), "approval")
    expect("stage", (approval.stages[0].id, approval.stages[0].assigned_to_me, approval.stages[0].review_result), ("1", True, "NotReviewed"))
    await step("approve (as the approver)", approvals.by_approval_id(request.id).stages.by_approval_stage_id("1").patch(ApprovalStage(review_result="Approve", justification="design review")))
    decided = strict(sam, await step("get the decided approval", approvals.by_approval_id(request.id).get()), "approval")
    expect("decided stage", (decided.stages[0].review_result, decided.stages[0].reviewed_by.id), ("Approve", sam_id))
    done = strict(adm, await step("get the delivered request", em.assignment_requests.by_access_package_assignment_request_id(request.id).get()), "assignmentRequest")
    expect("request state after approval", done.state, AccessPackageRequestState.Delivered)
    strict(adm, await step("list assignment requests", em.assignment_requests.get()), "assignmentRequests")

    # The assignment: listed, Ria's own, reprocessed by the admin.
    assignments = strict(adm, await step("list assignments", em.assignments.get()), "assignments")
    expect("assignments", [(x.target.object_id, x.state) for x in assignments.value], [(ria_id, AccessPackageAssignmentState.Delivered)])
    assignment = assignments.value[0]
    expect("assignment's package and policy", (assignment.access_package.id, assignment.assignment_policy.id), (falcon.id, policy.id))
    if assignment.schedule.expiration.end_date_time is None:
        fail("the assignment has no end")
    held = strict(ria, await step("assignments filterByCurrentUser(on='target')", rem.assignments.filter_by_current_user_with_on("target").get()), "assignments")
    expect("Ria's assignments", [x.id for x in held.value], [assignment.id])
    await step("reprocess the assignment", em.assignments.by_access_package_assignment_id(assignment.id).reprocess.post())
    strict(adm, await step("get the assignment", em.assignments.by_access_package_assignment_id(assignment.id).get()), "assignment")

    # Reviews, quarterly from a few seconds on, reviewed by Sam: the policy replaced.
    start = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0) + datetime.timedelta(seconds=2)
    reviews = AccessPackageAssignmentReviewSettings(
        is_enabled=True,
        is_self_review=False,
        is_recommendation_enabled=True,
        is_reviewer_justification_required=False,
        expiration_behavior=AccessReviewExpirationBehavior.KeepAccess,
        primary_reviewers=[SingleUser(user_id=sam_id)],
        schedule=EntitlementManagementSchedule(
            start_date_time=start,
            expiration=ExpirationPattern(type=ExpirationPatternType.AfterDuration, duration=days(14)),
            recurrence=PatternedRecurrence(
                pattern=RecurrencePattern(type=RecurrencePatternType.AbsoluteMonthly, interval=3, day_of_month=start.day),
                range=RecurrenceRange(type=RecurrenceRangeType.NoEnd, start_date=start.date()),
            ),
        ),
    )
    replaced = strict(adm, await step("replace the assignment policy (reviews on)", pol.put(policy_body(reviews))), "assignmentPolicy")
    got = replaced.review_settings
    expect(
        "review settings",
        (got.is_enabled, got.expiration_behavior, got.primary_reviewers[0].user_id),
        (True, AccessReviewExpirationBehavior.KeepAccess, sam_id),
    )
    expect(
        "review schedule",
        (got.schedule.start_date_time, got.schedule.expiration.duration, got.schedule.recurrence.pattern.type, got.schedule.recurrence.pattern.interval, got.schedule.recurrence.range.type),
        (start, datetime.timedelta(days=14), RecurrencePatternType.AbsoluteMonthly, 3, RecurrenceRangeType.NoEnd),
    )
    expect("the policy kept its id", replaced.id, policy.id)

    # The review opens (serve's sweep); Sam denies; the admin stops the instance.
    definitions = a.identity_governance.access_reviews.definitions
    while datetime.datetime.now(datetime.timezone.utc) <= start + datetime.timedelta(seconds=1):
        await asyncio.sleep(0.2)
    instances = None
    for _ in range(100):
        instances = await definitions.by_access_review_schedule_definition_id(policy.id).instances.get()
        if instances.value:
            break
        await asyncio.sleep(0.2)
    strict(adm, instances, "instances")
    STEPS.append("the review opened")
    expect("instances", len(instances.value), 1)
    instance = instances.value[0]
    expect("instance status", instance.status, "InProgress")
    defs = strict(adm, await step("list access review definitions", definitions.get()), "definitions")
    expect("definitions", [d.id for d in defs.value], [policy.id])
    strict(adm, await step("get the definition", definitions.by_access_review_schedule_definition_id(policy.id).get()), "definition")
    inst = definitions.by_access_review_schedule_definition_id(policy.id).instances.by_access_review_instance_id(instance.id)
    strict(adm, await step("get the instance", inst.get()), "instance")
    sam_inst = s.identity_governance.access_reviews.definitions.by_access_review_schedule_definition_id(policy.id).instances.by_access_review_instance_id(instance.id)
    items = strict(sam, await step("list decisions (as the reviewer)", sam_inst.decisions.get()), "decisions")
    expect("decision items", [(x.id, x.decision, x.principal.id) for x in items.value], [(assignment.id, "NotReviewed", ria_id)])
    await step(
        "deny (as the reviewer)",
        sam_inst.decisions.by_access_review_instance_decision_item_id(assignment.id).patch(AccessReviewInstanceDecisionItem(decision="Deny", justification="the review is over")),
    )
    item = strict(sam, await step("get the decision", sam_inst.decisions.by_access_review_instance_decision_item_id(assignment.id).get()), "decision")
    expect("decision", (item.decision, item.reviewed_by.id, item.apply_result), ("Deny", sam_id, "New"))
    await step("stop the instance", inst.stop.post())
    stopped = strict(adm, await step("get the stopped instance", inst.get()), "instance")
    expect("instance status after stop", stopped.status, "Completed")
    applied = strict(adm, await step("get the applied decision", inst.decisions.by_access_review_instance_decision_item_id(assignment.id).get()), "decision")
    expect("applied", applied.apply_result, "AppliedSuccessfully")
    ended = strict(adm, await step("get the ended assignment", em.assignments.by_access_package_assignment_id(assignment.id).get()), "assignment")
    expect("assignment after the review", ended.state, AccessPackageAssignmentState.Expired)


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    try:
        asyncio.run(main(*sys.argv[1:]))
    except Failed as e:
        print(f"FAILED after {len(STEPS)} steps: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"msgraph-sdk (identityGovernance): {len(STEPS)} steps, all parsed into the SDK's models")
