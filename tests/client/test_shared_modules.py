"""The modules the server shares with the client's distribution exist once, under both names."""

import ast
import inspect
import subprocess
import sys

import pytest

import orderstate_client
from orderstate import client, errors, market, money, validation
from orderstate_client import errors as client_errors
from orderstate_client import market as client_market
from orderstate_client import money as client_money
from orderstate_client import validation as client_validation
from tests.paths import ROOT


def public_names(module):
    """The names `module` defines at its top level (classes, functions, constants), not
    those it imports."""
    tree = ast.parse(inspect.getsource(module))
    names = set()
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(target.id for target in node.targets if isinstance(target, ast.Name))
    return {name for name in names if not name.startswith("_")}


@pytest.mark.parametrize(
    ("server_module", "client_module"),
    [
        (errors, client_errors),
        (validation, client_validation),
        (money, client_money),
        (market, client_market),
        (client, orderstate_client),
    ],
)
def test_every_name_of_the_client_module_is_the_same_object_under_the_old_name(
    server_module, client_module
):
    names = public_names(client_module) | set(getattr(client_module, "__all__", ()))
    assert names
    for name in names:
        assert getattr(server_module, name) is getattr(client_module, name), name


def test_the_server_raises_the_classes_the_bot_catches(db):
    from orderstate.manager import OrderStateManager

    with pytest.raises(client_errors.ValidationError):
        OrderStateManager().register_sell_order("", "S-1", "2500", 10)


def test_the_old_client_name_imports_no_django():
    code = "import sys, orderstate.client; print('django' in sys.modules)"
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "False"
