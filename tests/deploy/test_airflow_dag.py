"""The Airflow DAG file: structure checked with ``ast`` (always), imported by Airflow when installed.

Airflow is not a dependency of the project (its pins conflict with the pipeline's stack), so
the structural test reads the file without importing it: operators, task ids, wiring, and
that every template parameter it sends is one ``deploy/metadata.json`` declares. The
``DagBag`` test runs only where ``airflow`` is importable (``make dag-test``, see docs/DEPLOY.md).
"""
from __future__ import annotations

import ast
import json
from pathlib import Path
from typing import Dict, List, Set, Tuple

import pytest

REPO = Path(__file__).resolve().parents[2]
DAG_FILE = REPO / "deploy" / "airflow" / "gatekeeper_nightly_dag.py"
METADATA_PARAMETERS = {p["name"] for p in json.loads((REPO / "deploy" / "metadata.json").read_text())["parameters"]}
EXPECTED = {
    "gatekeeper_nightly": ({"run_gatekeeper"}, set()),
    "gatekeeper_nightly_flex": ({"launch_flex_template", "finalize_run"}, {("launch_flex_template", "finalize_run")}),
}
OPERATOR_MODULES = {
    "BeamRunPythonPipelineOperator": "airflow.providers.apache.beam.operators.beam",
    "DataflowStartFlexTemplateOperator": "airflow.providers.google.cloud.operators.dataflow",
    "DataflowConfiguration": "airflow.providers.google.cloud.operators.dataflow",
}

TREE = ast.parse(DAG_FILE.read_text(), filename=str(DAG_FILE))


def _keywords(call: ast.Call) -> Dict[str, ast.AST]:
    return {k.arg: k.value for k in call.keywords if k.arg}


def _call_name(call: ast.Call) -> str:
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", "")


def _dags() -> Dict[str, Tuple[Dict[str, str], Set[Tuple[str, str]], Dict[str, ast.AST]]]:
    """dag_id → (task variable → task_id, edges by task_id, DAG keywords)."""
    dags = {}
    for node in ast.walk(TREE):
        if not isinstance(node, ast.With):
            continue
        (item,) = node.items
        if not (isinstance(item.context_expr, ast.Call) and _call_name(item.context_expr) == "DAG"):
            continue
        dag_kwargs = _keywords(item.context_expr)
        tasks: Dict[str, str] = {}
        edges: Set[Tuple[str, str]] = set()
        for statement in node.body:
            if isinstance(statement, ast.Assign) and isinstance(statement.value, ast.Call):
                task_id = _keywords(statement.value).get("task_id")
                if isinstance(task_id, ast.Constant):
                    tasks[statement.targets[0].id] = task_id.value
            if isinstance(statement, ast.Expr) and isinstance(statement.value, ast.BinOp):
                edges |= _edges(statement.value, tasks)
        dags[dag_kwargs["dag_id"].value] = (tasks, edges, dag_kwargs)
    return dags


def _edges(expr: ast.BinOp, tasks: Dict[str, str]) -> Set[Tuple[str, str]]:
    chain: List[str] = []
    node = expr
    while isinstance(node, ast.BinOp):
        assert isinstance(node.op, ast.RShift), "dependencies are written with >>"
        chain.insert(0, tasks[node.right.id])
        node = node.left
    chain.insert(0, tasks[node.id])
    return set(zip(chain, chain[1:]))


def _module_dict_keys(name: str) -> Set[str]:
    for node in TREE.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
    raise AssertionError(f"{name} not found")


def _beam_pipeline_option_names() -> Set[str]:
    from apache_beam.options.pipeline_options import PipelineOptions

    return set(PipelineOptions([]).get_all_options(retain_unknown_options=False))


def test_dag_file_imports_the_operators_from_their_providers():
    imported = {alias.name: node.module for node in ast.walk(TREE) if isinstance(node, ast.ImportFrom)
                for alias in node.names}
    for name, module in OPERATOR_MODULES.items():
        assert imported.get(name) == module


def test_task_ids_and_wiring():
    dags = _dags()
    assert set(dags) == set(EXPECTED)
    for dag_id, (task_ids, edges) in EXPECTED.items():
        tasks, found_edges, _ = dags[dag_id]
        assert set(tasks.values()) == task_ids
        assert found_edges == edges


def test_runs_are_one_at_a_time_and_catch_up():
    for dag_id, (_, _, kwargs) in _dags().items():
        assert kwargs["max_active_runs"].value == 1, dag_id
        assert kwargs["catchup"].value is True, dag_id
        schedule = kwargs["schedule"].value
        assert len(schedule.split()) == 5, dag_id


def test_every_parameter_sent_is_a_template_parameter_or_a_beam_option():
    run_parameters = _module_dict_keys("RUN_PARAMETERS")
    assert run_parameters <= METADATA_PARAMETERS
    assert {"input", "consent", "output", "run_date", "pseudonym_key_secret"} <= run_parameters
    beam_options = _beam_pipeline_option_names()
    for node in ast.walk(TREE):
        if not isinstance(node, ast.Dict):
            continue
        keys = {k.value for k in node.keys if isinstance(k, ast.Constant)}
        if "temp_location" in keys or "sdk_container_image" in keys:   # pipeline options / flex parameters
            assert keys <= METADATA_PARAMETERS | beam_options, keys - METADATA_PARAMETERS - beam_options


def test_dag_bag_imports_the_file_when_airflow_is_installed(monkeypatch):
    monkeypatch.setenv("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    pytest.importorskip("airflow", reason="Airflow is not installed here; run `make dag-test` (docs/DEPLOY.md)")
    pytest.importorskip("airflow.providers.google.cloud.operators.dataflow")
    pytest.importorskip("airflow.providers.apache.beam.operators.beam")
    from airflow.models import DagBag

    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}
    assert set(bag.dag_ids) == set(EXPECTED)
    for dag_id, (task_ids, edges) in EXPECTED.items():
        dag = bag.dags[dag_id]
        assert set(dag.task_ids) == task_ids
        found = {(task.task_id, down) for task in dag.tasks for down in task.downstream_task_ids}
        assert found == edges
