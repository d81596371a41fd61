"""Nightly meeting-gatekeeper runs on Dataflow, orchestrated by Airflow 3 (Cloud Composer or self-hosted).

``gatekeeper_nightly`` is THE nightly DAG (02:30 UTC):

1. ``run_gatekeeper``: ``BeamRunPythonPipelineOperator`` runs the Flex Template entry point
   (``deploy/flex_template_launcher.py``) with the pipeline's own interpreter
   (``GATEKEEPER_PYTHON``) as the driver, with ``submit_only``: the driver submits the Dataflow
   job, records the launch and exits. The provider reads the job id from the driver's
   "Created job with id" line, waits for the job through the Dataflow API and cancels it if
   the task is killed.
2. ``finalize_run``: ``gatekeeper finalize`` validates and publishes (or quarantines) the
   staged run once the job has finished.

``gatekeeper_nightly_flex`` is an ALTERNATIVE, not scheduled (``schedule=None``): the same
run launched from the Flex Template, then finalized. Trigger it by hand, or give it the
schedule and pause ``gatekeeper_nightly``; never run both on one output root.

The run of the night processes the meetings of the day before: the 02:30 run of June 2 has
the data interval [June 1 02:30, June 2 02:30] and processes ``run_date=2026-06-01`` (computed
from the end of the data interval, so it holds for any timetable) with consent as of the end
of the interval. Catch-up, ``airflow dags backfill`` and task clears rerun whole dates.

Configuration: Airflow Variables, rendered at run time, never at parse time:
``gatekeeper_project``, ``gatekeeper_region``, ``gatekeeper_bucket`` (gs://…, holding
meetings/, consent/ and gatekeeper/), ``gatekeeper_template`` (gs://…/gatekeeper.json),
``gatekeeper_image`` (the Artifact Registry image), ``gatekeeper_key_secret``
(projects/…/secrets/…/versions/N, pinned), ``gatekeeper_launcher_py`` (the launcher file on the
Airflow workers), ``gatekeeper_service_account`` and, optional, ``gatekeeper_runner``
(default DataflowRunner; ``DirectRunner`` runs the same DAG locally). The interpreter is a
path, fixed per deployment: ``$GATEKEEPER_PYTHON`` on the Airflow workers (default
``/opt/gatekeeper/venv/bin/python``, a venv with the pipeline installed, see docs/DEPLOY.md).
"""
from __future__ import annotations

import os
from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator
from airflow.providers.google.cloud.operators.dataflow import DataflowStartFlexTemplateOperator

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
    from airflow.sdk import CronDataIntervalTimetable
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator
    from airflow.timetables.interval import CronDataIntervalTimetable

# the pipeline's own venv on the Airflow workers (its pins and Airflow's are kept apart)
GATEKEEPER_PYTHON = os.environ.get("GATEKEEPER_PYTHON", "/opt/gatekeeper/venv/bin/python")

PROJECT = "{{ var.value.gatekeeper_project }}"
REGION = "{{ var.value.gatekeeper_region }}"
BUCKET = "{{ var.value.gatekeeper_bucket }}"
OUTPUT = f"{BUCKET}/gatekeeper"
# the day before the end of the data interval: the 02:30 run of June 2 processes June 1
RUN_DATE = "{{ (data_interval_end - macros.timedelta(days=1)).strftime('%Y-%m-%d') }}"
AS_OF = "{{ data_interval_end.strftime('%Y-%m-%dT%H:%M:%SZ') }}"
JOB_NAME = "gatekeeper-{{ (data_interval_end - macros.timedelta(days=1)).strftime('%Y%m%d') }}"
NIGHTLY = "30 2 * * *"             # 02:30 UTC: after the nightly meeting export lands

# template parameter names: deploy/metadata.json (the launcher maps them onto `gatekeeper run`)
SOURCE_PARAMETERS = {
    "input": f"{BUCKET}/meetings",
    "consent": f"{BUCKET}/consent/ledger-*.jsonl",
    "output": OUTPUT,
    "pseudonym_key_secret": "{{ var.value.gatekeeper_key_secret }}",
}
RUN_PARAMETERS = {**SOURCE_PARAMETERS, "run_date": RUN_DATE, "as_of": AS_OF}
FINALIZE_COMMAND = f"{GATEKEEPER_PYTHON} -m pipeline finalize --output {OUTPUT}"

DEFAULT_ARGS = {
    "owner": "data-governance",
    "retries": 1,                      # a rerun of a date replaces that date's partition
    "retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(hours=6),
}

with DAG(
    dag_id="gatekeeper_nightly",
    description="Consent gate, PII redaction, validation and publication of yesterday's meetings",
    schedule=CronDataIntervalTimetable(NIGHTLY, timezone="UTC"),
    start_date=pendulum.datetime(2026, 6, 1, tz="UTC"),
    catchup=True,                      # missed nights are run, oldest first
    max_active_runs=1,                 # one run at a time per output root
    default_args=DEFAULT_ARGS,
    tags=["gatekeeper", "dataflow"],
) as driver_dag:
    run_gatekeeper = BeamRunPythonPipelineOperator(
        task_id="run_gatekeeper",
        runner="{{ var.value.get('gatekeeper_runner', 'DataflowRunner') }}",
        py_file="{{ var.value.gatekeeper_launcher_py }}",
        py_interpreter=GATEKEEPER_PYTHON,
        pipeline_options={
            **RUN_PARAMETERS,
            "submit_only": "true",     # the provider waits for the job; finalize_run publishes
            "temp_location": f"{BUCKET}/dataflow/tmp",
            "staging_location": f"{BUCKET}/dataflow/staging",
            "sdk_container_image": "{{ var.value.gatekeeper_image }}",
            "service_account_email": "{{ var.value.gatekeeper_service_account }}",
            "experiments": "use_runner_v2",
        },
        # a dict, not DataflowConfiguration: the operator renders every value of the dict,
        # while DataflowConfiguration renders only job_name and location (never project_id)
        dataflow_config={
            "job_name": JOB_NAME,
            "project_id": PROJECT,
            "location": REGION,
            "wait_until_finished": True,
        },
    )
    finalize_nightly = BashOperator(task_id="finalize_run", bash_command=FINALIZE_COMMAND)
    run_gatekeeper >> finalize_nightly

with DAG(
    dag_id="gatekeeper_nightly_flex",
    description="ALTERNATIVE to gatekeeper_nightly (not scheduled): launch the Flex Template, then finalize",
    schedule=None,                     # never alongside gatekeeper_nightly on the same output root
    start_date=pendulum.datetime(2026, 6, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["gatekeeper", "dataflow", "flex-template", "alternative"],
) as flex_dag:
    launch_flex_template = DataflowStartFlexTemplateOperator(
        task_id="launch_flex_template",
        project_id=PROJECT,
        location=REGION,
        wait_until_finished=True,
        body={
            "launchParameter": {
                "jobName": "gatekeeper-flex-{{ ts_nodash | lower }}",
                "containerSpecGcsPath": "{{ var.value.gatekeeper_template }}",
                # a manual trigger has no night of its own: every date changed since the last
                # published run (a missed night is covered by the next launch)
                "parameters": {**SOURCE_PARAMETERS, "since": "last-success"},
                "environment": {
                    "sdkContainerImage": "{{ var.value.gatekeeper_image }}",
                    "tempLocation": f"{BUCKET}/dataflow/tmp",
                    "stagingLocation": f"{BUCKET}/dataflow/staging",
                    "serviceAccountEmail": "{{ var.value.gatekeeper_service_account }}",
                },
            }
        },
    )
    finalize_flex = BashOperator(task_id="finalize_run", bash_command=FINALIZE_COMMAND)
    launch_flex_template >> finalize_flex
