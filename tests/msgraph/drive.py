"""Drives tenantsync's admin API (/v1.0) with the real Microsoft Graph SDK for Python
(PyPI msgraph-sdk): a custom base URL and a static bearer token, no Azure credentials.

usage: python drive.py BASE_URL SOURCE_ADMIN_TOKEN TARGET_ADMIN_TOKEN

Two tenants: the source (contoso.example) and the target (fabrikam.example), each with an
admin token. The script creates users, lists them with $filter/$top following
@odata.nextLink, runs a delta round-trip, sets the partner policies and the target's
identitySynchronization, creates a sync job from the cross-tenant sync template, saves its
credentials, starts it, provisions a user on demand, reads the job's status and the
provisioning logs, pauses and restarts the job, and reads the admin audit log.

Every answer must parse into the SDK's models: besides the SDK's own parsing (which drops
what it does not know silently), each answer's JSON is compared with the model it became,
serialized again: a property the model has no field for, or a value it could not read (an
enum value, a date), fails the run. Exit status 0 when every step passed.
"""

import asyncio
import json
import sys
from enum import Enum

import httpx
from kiota_abstractions.authentication import AccessTokenProvider, AllowedHostsValidator, BaseBearerTokenAuthenticationProvider
from kiota_abstractions.base_request_configuration import RequestConfiguration
from kiota_serialization_json.json_serialization_writer import JsonSerializationWriter
from msgraph import GraphRequestAdapter, GraphServiceClient
from msgraph.generated.application_templates.item.instantiate.instantiate_post_request_body import InstantiatePostRequestBody
from msgraph.generated.models.app_role_assignment import AppRoleAssignment
from msgraph.generated.models.cross_tenant_access_policy_configuration_partner import CrossTenantAccessPolicyConfigurationPartner
from msgraph.generated.models.cross_tenant_identity_sync_policy_partner import CrossTenantIdentitySyncPolicyPartner
from msgraph.generated.models.cross_tenant_user_sync_inbound import CrossTenantUserSyncInbound
from msgraph.generated.models.inbound_outbound_policy_configuration import InboundOutboundPolicyConfiguration
from msgraph.generated.models.o_data_errors.o_data_error import ODataError
from msgraph.generated.models.password_profile import PasswordProfile
from msgraph.generated.models.synchronization_job import SynchronizationJob
from msgraph.generated.models.synchronization_job_application_parameters import SynchronizationJobApplicationParameters
from msgraph.generated.models.synchronization_job_restart_criteria import SynchronizationJobRestartCriteria
from msgraph.generated.models.synchronization_job_restart_scope import SynchronizationJobRestartScope
from msgraph.generated.models.synchronization_job_subject import SynchronizationJobSubject
from msgraph.generated.models.synchronization_secret import SynchronizationSecret
from msgraph.generated.models.synchronization_secret_key_string_value_pair import SynchronizationSecretKeyStringValuePair
from msgraph.generated.models.synchronization_status_code import SynchronizationStatusCode
from msgraph.generated.models.user import User
from msgraph.generated.service_principals.item.synchronization.jobs.item.provision_on_demand.provision_on_demand_post_request_body import (
    ProvisionOnDemandPostRequestBody,
)
from msgraph.generated.service_principals.item.synchronization.jobs.item.restart.restart_post_request_body import RestartPostRequestBody
from msgraph.generated.service_principals.item.synchronization.secrets.secrets_put_request_body import SecretsPutRequestBody
from msgraph.generated.users.users_request_builder import UsersRequestBuilder
from msgraph_core import GraphClientFactory

TEMPLATE = "518e5f48-1fc8-4c48-9387-9fdf28b0dfe7"
# Properties of Graph beta that tenantsync answers on v1.0 too (the v1.0 SDK keeps them
# in additional_data): the group sync of identitySynchronization.
BETA = {"groupSyncInbound"}
# Values the SDK cannot read although they are Graph's: kiota names the enum member of
# "import" `Import_` (a Python keyword) and looks up "Import", so it reads None.
SDK_GAPS = {("provisioningStepType", "import")}
STEPS = []


class StaticToken(AccessTokenProvider):
    def __init__(self, token):
        self.token = token

    async def get_authorization_token(self, uri, additional_authentication_context=None):
        return self.token

    def get_allowed_hosts_validator(self):
        return AllowedHostsValidator([])


class Client:
    """A GraphServiceClient on our base URL, remembering each answer's raw JSON."""

    def __init__(self, base, token):
        self.last = None
        http = GraphClientFactory.create_with_default_middleware()
        http.base_url = base
        http.event_hooks["response"].append(self._keep)
        adapter = GraphRequestAdapter(BaseBearerTokenAuthenticationProvider(StaticToken(token)), client=http)
        adapter.base_url = base
        self.graph = GraphServiceClient(request_adapter=adapter)

    async def _keep(self, response: httpx.Response):
        await response.aread()
        self.last = response.content


class Failed(Exception):
    pass


def fail(message):
    raise Failed(message)


def camel(name):
    head, *rest = name.split("_")
    return head + "".join(r[:1].upper() + r[1:] for r in rest)


def flags(model, out):
    """Flags enums (`flowTypes`: "Add, Update") parse into lists the SDK's writer does not
    write back: put them back as the text they were read from."""
    if not isinstance(out, dict):
        return
    for name, value in vars(model).items():
        key = camel(name)
        if isinstance(value, list) and value and all(isinstance(v, Enum) for v in value):
            out[key] = ", ".join(v.value for v in value)
        elif hasattr(value, "get_field_deserializers"):
            flags(value, out.get(key))
        elif isinstance(value, list) and isinstance(out.get(key), list):
            for item, o in zip(value, out[key]):
                if hasattr(item, "get_field_deserializers"):
                    flags(item, o)


def serialized(model):
    w = JsonSerializationWriter()
    w.write_object_value(None, model)
    out = json.loads(w.get_serialized_content().decode())
    flags(model, out)
    return out


def compare(raw, parsed, path):
    """Every non-null property of `raw` is in `parsed` (the model serialized again)."""
    if isinstance(raw, dict):
        if not isinstance(parsed, dict):
            fail(f"{path}: an object became {parsed!r}")
        for k, v in raw.items():
            if v is None or "@" in k or (isinstance(v, str) and (k, v) in SDK_GAPS):
                continue
            if parsed.get(k) is None:
                fail(f"{path}.{k}: {json.dumps(v)[:120]} was not read into the SDK's model")
            compare(v, parsed[k], f"{path}.{k}")
    elif isinstance(raw, list):
        if not isinstance(parsed, list) or len(parsed) != len(raw):
            fail(f"{path}: a list of {len(raw)} became {parsed!r}"[:300])
        for i, (a, b) in enumerate(zip(raw, parsed)):
            compare(a, b, f"{path}[{i}]")


def unknown(model, path):
    """Properties the SDK's model has no field for (OData annotations aside; open types
    without properties of their own, as `detailsInfo`, hold theirs in additional_data)."""
    if not [k for k in model.get_field_deserializers() if "@" not in k]:
        return
    extra = [k for k in (getattr(model, "additional_data", None) or {}) if "@" not in k and k not in BETA]
    if extra:
        fail(f"{path}: properties the SDK's model does not have: {extra}")
    for name, value in vars(model).items():
        if name in ("additional_data", "backing_store"):
            continue
        items = value if isinstance(value, list) else [value]
        for i, item in enumerate(items):
            if hasattr(item, "get_field_deserializers"):
                unknown(item, f"{path}.{name}[{i}]" if isinstance(value, list) else f"{path}.{name}")


def strict(client, model, what):
    """`model` parsed from the last answer of `client`, with nothing lost."""
    if model is None:
        fail(f"{what}: no model")
    unknown(model, what)
    compare(json.loads(client.last), serialized(model), what)
    return model


async def step(name, coro):
    try:
        result = await coro
    except ODataError as e:
        code = e.error.code if e.error else None
        fail(f"{name}: {e.response_status_code} {code}: {e.error.message if e.error else e}")
    STEPS.append(name)
    print(f"ok  {name}", flush=True)
    return result


async def main(base, source_token, target_token):
    src, tgt = Client(base, source_token), Client(base, target_token)
    g, t = src.graph, tgt.graph
    source = strict(src, await step("organization (source)", g.organization.get()), "organization").value[0].id
    target = strict(tgt, await step("organization (target)", t.organization.get()), "organization").value[0].id

    # Users.
    ids = []
    for i in range(7):
        u = User(
            account_enabled=True,
            display_name=f"Adele {i}",
            mail_nickname=f"adele{i}",
            user_principal_name=f"adele{i}@contoso.example",
            department="Sales",
            password_profile=PasswordProfile(force_change_password_next_sign_in=True, password="x!Y1z2w3"),
        )
        created = strict(src, await step(f"create user {i}", g.users.post(u)), "user")
        ids.append(created.id)
    one = strict(src, await step("get user", g.users.by_user_id(ids[0]).get()), "user")
    if one.user_principal_name != "adele0@contoso.example":
        fail(f"get user: {one.user_principal_name}")
    try:
        await g.users.by_user_id("00000000-0000-0000-0000-000000000001").get()
        fail("an unknown user was found")
    except ODataError as e:
        if e.response_status_code != 404 or e.error.code != "Request_ResourceNotFound" or not e.error.inner_error:
            fail(f"unknown user: {e.response_status_code} {e.error.code if e.error else None}")
    STEPS.append("404 as ODataError")

    # $filter, $top, $orderby, $count and nextLink pages.
    q = UsersRequestBuilder.UsersRequestBuilderGetQueryParameters(
        filter="startswith(userPrincipalName,'adele')", top=3, orderby=["userPrincipalName"], select=["id", "userPrincipalName", "displayName"], count=True
    )
    conf = RequestConfiguration(query_parameters=q)
    conf.headers.add("ConsistencyLevel", "eventual")
    page = strict(src, await step("list users ($filter, $top=3, $count)", g.users.get(conf)), "users page")
    if page.odata_count != 7:
        fail(f"@odata.count {page.odata_count}")
    seen = [u.user_principal_name for u in page.value]
    pages = 1
    # Advanced queries ($count) need the header on every page, as in Graph.
    eventual = RequestConfiguration()
    eventual.headers.add("ConsistencyLevel", "eventual")
    while page.odata_next_link:
        if not page.odata_next_link.startswith(base):
            fail(f"nextLink not absolute on our base: {page.odata_next_link}")
        page = strict(src, await step(f"next page {pages}", g.users.with_url(page.odata_next_link).get(eventual)), "users page")
        seen += [u.user_principal_name for u in page.value]
        pages += 1
    if seen != sorted(f"adele{i}@contoso.example" for i in range(7)) or pages != 3:
        fail(f"pages {pages}: {seen}")

    # Delta: a full round, then only what changed.
    d = strict(src, await step("users/delta() first round", g.users.delta.get()), "delta")
    round_ids = [u.id for u in d.value]
    while d.odata_next_link:
        d = strict(src, await step("users/delta() next page", g.users.delta.with_url(d.odata_next_link).get()), "delta")
        round_ids += [u.id for u in d.value]
    if sorted(round_ids) != sorted(ids) or not d.odata_delta_link:
        fail(f"delta snapshot: {len(round_ids)} users, deltaLink {d.odata_delta_link}")
    await step("update a user", g.users.by_user_id(ids[1]).patch(User(job_title="Buyer")))
    await step("delete a user", g.users.by_user_id(ids[6]).delete())
    d = strict(src, await step("users/delta() with the deltaLink", g.users.delta.with_url(d.odata_delta_link).get()), "delta")
    changed = {u.id: u for u in d.value}
    if set(changed) != {ids[1], ids[6]} or changed[ids[1]].job_title != "Buyer":
        fail(f"delta changes: {[(u.id, u.job_title) for u in d.value]}")
    raw = json.loads(src.last)["value"]
    if not any(v.get("@removed") for v in raw if v["id"] == ids[6]):
        fail("the deleted user has no @removed")

    # Cross-tenant access settings: the target allows inbound sync from the source.
    await step(
        "target: partner (inbound consent)",
        t.policies.cross_tenant_access_policy.partners.post(
            CrossTenantAccessPolicyConfigurationPartner(
                tenant_id=source, automatic_user_consent_settings=InboundOutboundPolicyConfiguration(inbound_allowed=True)
            )
        ),
    )
    strict(tgt, await step("target: get partner", t.policies.cross_tenant_access_policy.partners.by_cross_tenant_access_policy_configuration_partner_tenant_id(source).get()), "partner")
    sync = t.policies.cross_tenant_access_policy.partners.by_cross_tenant_access_policy_configuration_partner_tenant_id(source).identity_synchronization
    await step("target: identitySynchronization PUT", sync.put(CrossTenantIdentitySyncPolicyPartner(display_name="Contoso", user_sync_inbound=CrossTenantUserSyncInbound(is_sync_allowed=True))))
    policy = strict(tgt, await step("target: identitySynchronization GET", sync.get()), "identitySynchronization")
    if not policy.user_sync_inbound.is_sync_allowed:
        fail("isSyncAllowed not set")
    created = await step(
        "source: partner (outbound consent)",
        g.policies.cross_tenant_access_policy.partners.post(
            CrossTenantAccessPolicyConfigurationPartner(tenant_id=target, automatic_user_consent_settings=InboundOutboundPolicyConfiguration(outbound_allowed=True))
        ),
    )
    strict(src, created, "partner")
    strict(src, await step("source: list partners", g.policies.cross_tenant_access_policy.partners.get()), "partners")
    strict(src, await step("source: default policy", g.policies.cross_tenant_access_policy.default.get()), "default")

    # A sync job: instantiate the template, create the job, save the credentials.
    app = strict(src, await step("instantiate the template", g.application_templates.by_application_template_id(TEMPLATE).instantiate.post(InstantiatePostRequestBody(display_name="Fabrikam"))), "instantiate")
    sp = app.service_principal.id
    jobs = g.service_principals.by_service_principal_id(sp).synchronization.jobs
    job = strict(src, await step("create the job", jobs.post(SynchronizationJob(template_id="Azure2Azure"))), "job")
    secrets = [
        SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret.AuthenticationType, value="SyncPolicy"),
        SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret.CompanyId, value=target),
        SynchronizationSecretKeyStringValuePair(key=SynchronizationSecret.SyncAll, value="false"),
    ]
    await step("save the credentials", g.service_principals.by_service_principal_id(sp).synchronization.secrets.put(SecretsPutRequestBody(value=secrets)))
    assignment = AppRoleAssignment(principal_id=ids[0], resource_id=sp, app_role_id="00000000-0000-0000-0000-000000000000")
    strict(src, await step("assign a user", g.service_principals.by_service_principal_id(sp).app_role_assigned_to.post(assignment)), "appRoleAssignment")
    strict(src, await step("list assignments", g.service_principals.by_service_principal_id(sp).app_role_assigned_to.get()), "appRoleAssignments")
    item = jobs.by_synchronization_job_id(job.id)
    await step("start", item.start.post())
    status = strict(src, await step("job status", item.get()), "job")
    if status.status.code != SynchronizationStatusCode.Active:
        fail(f"after start: {status.status.code}")
    pod = ProvisionOnDemandPostRequestBody(
        parameters=[SynchronizationJobApplicationParameters(rule_id="USER_INBOUND_USER", subjects=[SynchronizationJobSubject(object_id=ids[0], object_type_name="User")])]
    )
    result = strict(src, await step("provisionOnDemand", item.provision_on_demand.post(pod)), "provisionOnDemand")
    details = json.loads(result.value)
    # The scheduler may have run a cycle since `start`: then the user is there already.
    if details[0]["statusInfo"]["status"] not in ("Success", "Skipped"):
        fail(f"provisionOnDemand: {details[0]['statusInfo']}")
    strict(src, await step("job schema", item.schema.get()), "schema")
    status = strict(src, await step("job status after provisioning", item.get()), "job")
    logs = strict(src, await step("auditLogs/provisioning", g.audit_logs.provisioning.get()), "provisioning")
    if not any(l.source_identity and l.source_identity.id == ids[0] for l in logs.value):
        fail(f"no provisioning log of the user: {[(l.source_identity.id if l.source_identity else None) for l in logs.value]}")
    copies = strict(tgt, await step("target: the copy", t.users.get()), "users")
    if not any(u.user_principal_name.startswith("adele0_contoso.example#EXT#") for u in copies.value):
        fail(f"no copy in the target: {[u.user_principal_name for u in copies.value]}")
    await step("pause", item.pause.post())
    if strict(src, await step("job status after pause", item.get()), "job").status.code != SynchronizationStatusCode.Paused:
        fail("not paused")
    restart = RestartPostRequestBody(criteria=SynchronizationJobRestartCriteria(reset_scope=SynchronizationJobRestartScope.Watermark))
    await step("restart", item.restart.post(restart))
    if strict(src, await step("job status after restart", item.get()), "job").status.code != SynchronizationStatusCode.Active:
        fail("not active after restart")
    audits = strict(src, await step("auditLogs/directoryAudits", g.audit_logs.directory_audits.get()), "directoryAudits")
    if len(audits.value) < 10:
        fail(f"{len(audits.value)} audit records")


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    try:
        asyncio.run(main(*sys.argv[1:]))
    except Failed as e:
        print(f"FAILED after {len(STEPS)} steps: {e}", file=sys.stderr)
        sys.exit(1)
    print(f"msgraph-sdk: {len(STEPS)} steps, all parsed into the SDK's models")
