"""ARM scopes: segment-wise, case-insensitive coverage, and the management-group hierarchy."""

from __future__ import annotations

from permscope.clouds.azure.engine.scopes import ScopeTree, covers, describe, is_management_group, scope_key

SUB = "/subscriptions/11111111-1111-1111-1111-111111111111"
OTHER_SUB = "/subscriptions/33333333-3333-3333-3333-333333333333"
MG = "/providers/Microsoft.Management/managementGroups/"
TREE = ScopeTree({SUB: [MG + "mg-corp", MG + "mg-landingzones", MG + "tenant-root"]})


def test_keys_ignore_case_and_empty_segments() -> None:
    assert scope_key("/") == scope_key("") == scope_key("//") == ()
    assert scope_key(f"{SUB}/resourcegroups/RG/") == scope_key(f"{SUB}/resourceGroups/rg")


def test_a_scope_covers_itself_and_what_is_below_it_segment_by_segment() -> None:
    rg = scope_key(f"{SUB}/resourceGroups/app-rg")
    assert covers(rg, rg, TREE)
    assert covers(
        rg, scope_key(f"{SUB}/resourceGroups/APP-RG/providers/Microsoft.Compute/virtualMachines/v"), TREE
    )
    assert not covers(rg, scope_key(f"{SUB}/resourceGroups/app-rg2"), TREE)
    assert not covers(rg, scope_key(SUB), TREE)
    assert covers((), scope_key(OTHER_SUB), TREE)  # root scope


def test_management_groups_cover_the_subscriptions_below_them() -> None:
    vm = scope_key(f"{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/v")
    for group in ("mg-corp", "mg-landingzones", "tenant-root"):
        assert covers(scope_key(MG + group), vm, TREE)
    assert not covers(scope_key(MG + "mg-sandbox"), vm, TREE)
    assert not covers(scope_key(MG + "tenant-root"), scope_key(OTHER_SUB), TREE)  # not in the hierarchy


def test_a_management_group_s_own_ancestors_come_from_the_chains() -> None:
    corp = scope_key(MG + "MG-Corp")
    assert TREE.management_groups_above(corp) == (
        scope_key(MG + "mg-landingzones"),
        scope_key(MG + "tenant-root"),
    )
    assert covers(scope_key(MG + "tenant-root"), corp, TREE)
    assert not covers(corp, scope_key(MG + "mg-landingzones"), TREE)  # never upwards
    assert scope_key(MG + "tenant-root") in TREE.covering(corp)


def test_levels_in_words() -> None:
    assert describe(()) == "root"
    assert describe(scope_key(MG + "x")) == "management group" and is_management_group(scope_key(MG + "x"))
    assert describe(scope_key(SUB)) == "subscription"
    assert describe(scope_key(f"{SUB}/resourceGroups/rg")) == "resource group"
    assert describe(scope_key(f"{SUB}/resourceGroups/rg/providers/A.B/c/d")) == "resource"
