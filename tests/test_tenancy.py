import pytest

from ragbench.errors import TenantError
from ragbench.schema import QueryRequest
from ragbench.tenancy import validate_tenant_id


@pytest.mark.parametrize("tenant", ["acme", "acme-robotics", "t1", "a_b", "0", "a" * 63])
def test_valid_ids(tenant):
    assert validate_tenant_id(tenant) == tenant


@pytest.mark.parametrize("tenant", ["", "../x", "a'b", "A", "a b", "a/b", "-a", "a__b", "a" * 64, "x;drop", "é"])
def test_invalid_ids_explain_the_rule(tenant):
    with pytest.raises(TenantError) as info:
        validate_tenant_id(tenant)
    message = str(info.value)
    assert "lowercase letters" in message and "Example" in message
    if tenant == "":
        assert "empty string" in message


def test_non_string_rejected():
    with pytest.raises(TenantError, match="must be a string"):
        validate_tenant_id(None)


def test_request_model_validates_tenant_and_question():
    with pytest.raises(ValueError):
        QueryRequest(question="hi", tenant="../x")
    with pytest.raises(ValueError, match="blank"):
        QueryRequest(question="   ", tenant="acme")
    with pytest.raises(ValueError):
        QueryRequest(question="hi", tenant="acme", k=0)
    assert QueryRequest(question="hi", tenant="acme").k == 5
