import pytest

from lsra_fairseq.modules import BranchSpecError, check_kernel_sizes, parse_branches
from lsra_fairseq.modules.branch_spec import resolve_kernel


def test_parses_paper_spec_and_default_kernel():
    attn, conv = parse_branches("attn:1:80:4,lightweight:default:80:4", 160)
    assert (attn.type, attn.dim, attn.heads, attn.kernel_size) == ("attn", 80, 4, None)
    assert conv.kernel_size is None and resolve_kernel(conv, 15, causal=False) == 15


def test_explicit_kernel_overrides_layer_list_and_any_number_of_branches():
    branches = parse_branches(["attn:1:64:4", "dynamic:7:32:2", "lightweight:default:32:4"], 128)
    assert [b.type for b in branches] == ["attn", "dynamic", "lightweight"]
    assert resolve_kernel(branches[1], 31, causal=True) == 7


@pytest.mark.parametrize("spec, dim, offending", [
    ("attn:1:80:4,lightweight:default:64:4", 160, "144"),          # dims do not add up
    ("attn:1:80:3,lightweight:default:80:4", 160, "3 heads"),      # heads do not divide
    ("attn:1:80:4,lightweight:default:80:3", 160, "3 heads"),
    ("attn:1:80:4,fancy:default:80:4", 160, "'fancy'"),            # unknown type
    ("attn:1:80", 80, "attn:1:80"),                                # malformed
    ("attn:1:80:4,lightweight:seven:80:4", 160, "'seven'"),
])
def test_bad_branch_specs_name_the_offending_value(spec, dim, offending):
    with pytest.raises(BranchSpecError, match=offending):
        parse_branches(spec, dim)


def test_kernel_list_too_short_and_even_symmetric_kernel():
    with pytest.raises(BranchSpecError, match=r"\[3, 7\] has 2 entries for 6 layers"):
        check_kernel_sizes([3, 7], 6, causal=False, where="encoder")
    with pytest.raises(BranchSpecError, match="kernel size 4"):
        check_kernel_sizes([3, 4, 5], 3, causal=False, where="encoder")
    assert check_kernel_sizes([3, 4, 5, 9], 3, causal=True, where="decoder") == [3, 4, 5]
    (conv,) = parse_branches("dynamic:6:80:4", 80)
    with pytest.raises(BranchSpecError, match="kernel size 6"):
        resolve_kernel(conv, 3, causal=False)
