"""The generated role as a plan step, on the hand-made subscription: the step's names and bodies, the role and
its assignments as inventory (decided by the engine at their scopes), a role reaching further than what the
principal holds refused, and the Azure CLI script quoting a hostile role name."""

from __future__ import annotations

import dataclasses
import json
import shlex

import pytest

from clouds.azure.remediation.test_generate import RG_APP, SUB, VM, generate, usage
from clouds.azure.support import BOB, CAROL, PROD, batch
from least_privilege_support import NOW
from permscope.clouds.azure.access import estate_of
from permscope.clouds.azure.grant.connector import assignment_name
from permscope.clouds.azure.remediation.generated import assignment_body, definition_body, generated_step
from permscope.clouds.azure.remediation.scripts import cli_script
from permscope.core.inventory import PolicyKind
from permscope.core.remediation import StepKind, StepSpec
from permscope.core.snapshot import AnalysisSettings, SystemSnapshot
from permscope.workflows.snapshots import batch_snapshot

RESTART = "Microsoft.Compute/virtualMachines/restart/action"
BOB_USES = [
    usage("Microsoft.Compute/virtualMachines/read", VM, identity=BOB),
    usage(RESTART, VM, identity=BOB),
    usage("Microsoft.Resources/subscriptions/resourceGroups/read", RG_APP, identity=BOB),
]


@pytest.fixture(scope="module")
def snapshot() -> SystemSnapshot:
    return batch_snapshot(batch(PROD), AnalysisSettings(now=NOW))


def test_the_step_creates_the_role_and_assigns_it_at_its_scopes(snapshot: SystemSnapshot) -> None:
    [document] = generate(
        snapshot, BOB_USES, identity=BOB
    ).documents  # Reader at SUB, a VM restarter at rg-app
    step, policy, placed = generated_step(snapshot, BOB, document.name, document.document)
    guid = document.document["name"]
    assert step.kind is StepKind.CREATE_GENERATED_ROLE and step.target == guid == policy.external_id
    assert policy.kind is PolicyKind.ROLE_DEFINITION and not policy.managed_by_cloud
    assert [a.scope for a in placed] == [RG_APP] and all(a.identity_external_id == BOB for a in placed)
    parameters = step.parameters
    assert parameters["assignments"] == [{"scope": RG_APP, "name": assignment_name(RG_APP, guid, BOB)}]
    assert parameters["roleDefinitionId"] == f"{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
    assert parameters["principalType"] == "User" and step.removes == ()
    body = definition_body(parameters["document"])["properties"]
    assert body["type"] == "CustomRole" and body["assignableScopes"] == [RG_APP]
    assert assignment_body(parameters)["properties"]["principalId"] == BOB
    # the role as the engine reads it: BOB with the role alone may restart the VM, not elsewhere
    alone = dataclasses.replace(
        snapshot,
        assignments=list(placed),
        policies=[policy],
        memberships=[],
        _results={},
        _derived={},
    )
    estate = estate_of(alone)
    assert estate.decide(BOB, RESTART, False, VM, {}).decision == "Allowed"
    elsewhere = f"{SUB}/resourceGroups/rg-data/providers/Microsoft.Compute/virtualMachines/vm2"
    assert estate.decide(BOB, RESTART, False, elsewhere, {}).decision == "NotAllowed"
    # the same generation gives the same names (applying again is the same PUTs)
    [again] = generate(snapshot, BOB_USES, identity=BOB).documents
    assert generated_step(snapshot, BOB, again.name, again.document)[0] == step


def test_a_role_reaching_further_than_held_or_malformed_is_refused(snapshot: SystemSnapshot) -> None:
    carol = [dataclasses.replace(u, identity_external_id=CAROL) for u in BOB_USES]
    [document] = generate(snapshot, carol, identity=CAROL).documents  # she holds a blob role on rg-data only
    with pytest.raises(ValueError, match="does not hold there today"):
        generated_step(snapshot, CAROL, document.name, document.document)
    [bobs] = generate(snapshot, BOB_USES, identity=BOB).documents
    with pytest.raises(ValueError, match="no assignable scopes"):
        generated_step(snapshot, BOB, bobs.name, {**bobs.document, "assignableScopes": []})
    with pytest.raises(ValueError, match="names no role"):
        generated_step(snapshot, BOB, bobs.name, {**bobs.document, "name": None})
    with pytest.raises(ValueError, match="not a principal"):
        generated_step(snapshot, "0000dead-0000-4000-8000-000000000000", bobs.name, bobs.document)


def test_the_script_quotes_a_hostile_role_name(snapshot: SystemSnapshot) -> None:
    [document] = generate(snapshot, BOB_USES, identity=BOB).documents
    hostile = {**document.document, "roleName": "permscope-least-privilege-O'Brien $(rm -rf /)"}
    step, _policy, _placed = generated_step(snapshot, BOB, hostile["roleName"], hostile)
    spec = StepSpec(step.kind, step.principal, step.target, step.label, dict(step.parameters), {})
    script = cli_script(PROD, [spec], header="plan", rollback=False)
    create = next(line for line in script.splitlines() if line.startswith("az role definition create"))
    words = shlex.split(create)
    role = json.loads(words[-1])
    assert role["Name"] == hostile["roleName"] and role["AssignableScopes"] == [RG_APP]
    assert role["Actions"] == document.document["permissions"][0]["actions"]
    assign = next(line for line in script.splitlines() if line.startswith("az role assignment create"))
    assert shlex.split(assign)[shlex.split(assign).index("--role") + 1] == hostile["roleName"]
    rollback = cli_script(PROD, [spec], header="plan", rollback=True)
    last = shlex.split(rollback.strip().splitlines()[-1])
    assert last[:4] == ["az", "role", "definition", "delete"] and last[5] == hostile["roleName"]
