"""Nightly meeting-gatekeeper runs on Dataflow, orchestrated by Airflow (Cloud Composer or self-hosted).

Two DAGs, one schedule:

``gatekeeper_nightly`` (works with the current code): ``BeamRunPythonPipelineOperator`` runs
the Flex Template entry point (``deploy/flex_template_launcher.py``) as the driver on the
Airflow worker with the DataflowRunner. The driver waits for the Dataflow job, then gates
and publishes (or quarantines) exactly like a local ``gatekeeper run``; a non-zero exit
fails the task.

``gatekeeper_nightly_flex`` launches the Flex Template (``DataflowStartFlexTemplateOperator``)
and waits for the job, then ``gatekeeper finalize`` publishes the staged run. A Flex
Template's launcher VM only submits the job, so the publish step runs afterwards with
``gatekeeper finalize`` (see docs/DEPLOY.md).

Each DAG run processes the meetings of its logical date (``--run-date {{ ds }}``) with consent
as of the end of its data interval, so Airflow's catch-up, ``airflow dags backfill`` and task
clears are reruns of whole dates. Configuration comes from Airflow Variables (rendered at run time,
never at parse time): ``gatekeeper_project``, ``gatekeeper_region``, ``gatekeeper_bucket``
(gs://…, holding meetings/, consent/ and gatekeeper/), ``gatekeeper_template``
(gs://…/gatekeeper.json), ``gatekeeper_image`` (the Artifact Registry image),
``gatekeeper_key_secret`` (projects/…/secrets/…/versions/N), ``gatekeeper_launcher_py`` (the
launcher file on the Airflow workers) and ``gatekeeper_service_account``.
"""
from __future__ import annotations

from datetime import timedelta

import pendulum
from airflow import DAG
from airflow.providers.apache.beam.operators.beam import BeamRunPythonPipelineOperator
from airflow.providers.google.cloud.operators.dataflow import (
    DataflowConfiguration,
    DataflowStartFlexTemplateOperator,
)

try:  # Airflow 3
    from airflow.providers.standard.operators.bash import BashOperator
except ImportError:  # Airflow 2
    from airflow.operators.bash import BashOperator

PROJECT = "{{ var.value.gatekeeper_project }}"
REGION = "{{ var.value.gatekeeper_region }}"
BUCKET = "{{ var.value.gatekeeper_bucket }}"
RUN_DATE = "{{ ds }}"
AS_OF = "{{ data_interval_end.strftime('%Y-%m-%dT%H:%M:%SZ') }}"
JOB_NAME = "gatekeeper-{{ ds_nodash }}"

# template parameter names: deploy/metadata.json (the launcher maps them onto `gatekeeper run`)
RUN_PARAMETERS = {
    "input": f"{BUCKET}/meetings",
    "consent": f"{BUCKET}/consent/ledger-*.jsonl",
    "output": f"{BUCKET}/gatekeeper",
    "run_date": RUN_DATE,
    "as_of": AS_OF,
    "pseudonym_key_secret": "{{ var.value.gatekeeper_key_secret }}",
}

DEFAULT_ARGS = {
    "owner": "data-governance",
    "retries": 1,                      # a rerun of a date replaces that date's partition
    "retry_delay": timedelta(minutes=15),
    "execution_timeout": timedelta(hours=6),
}

with DAG(
    dag_id="gatekeeper_nightly",
    description="Consent gate, PII redaction, validation and publication of yesterday's meetings",
    schedule="30 2 * * *",             # 02:30 UTC: after the nightly meeting export lands
    start_date=pendulum.datetime(2026, 6, 1, tz="UTC"),
    catchup=True,                      # missed nights are run, oldest first
    max_active_runs=1,                 # one run at a time per output root
    default_args=DEFAULT_ARGS,
    tags=["gatekeeper", "dataflow"],
) as driver_dag:
    run_gatekeeper = BeamRunPythonPipelineOperator(
        task_id="run_gatekeeper",
        runner="DataflowRunner",
        py_file="{{ var.value.gatekeeper_launcher_py }}",
        pipeline_options={
            **RUN_PARAMETERS,
            "temp_location": f"{BUCKET}/dataflow/tmp",
            "staging_location": f"{BUCKET}/dataflow/staging",
            "sdk_container_image": "{{ var.value.gatekeeper_image }}",
            "service_account_email": "{{ var.value.gatekeeper_service_account }}",
            "experiments": "use_runner_v2",
        },
        dataflow_config=DataflowConfiguration(
            job_name=JOB_NAME,
            project_id=PROJECT,
            location=REGION,
            wait_until_finished=True,
        ),
    )

with DAG(
    dag_id="gatekeeper_nightly_flex",
    description="The same nightly run, launched from the Flex Template, then finalized",
    schedule="30 2 * * *",
    start_date=pendulum.datetime(2026, 6, 1, tz="UTC"),
    catchup=True,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["gatekeeper", "dataflow", "flex-template"],
) as flex_dag:
    launch_flex_template = DataflowStartFlexTemplateOperator(
        task_id="launch_flex_template",
        project_id=PROJECT,
        location=REGION,
        wait_until_finished=True,
        body={
            "launchParameter": {
                "jobName": JOB_NAME,
                "containerSpecGcsPath": "{{ var.value.gatekeeper_template }}",
                "parameters": {
                    **RUN_PARAMETERS,
                    "sdk_container_image": "{{ var.value.gatekeeper_image }}",
                },
                "environment": {
                    "tempLocation": f"{BUCKET}/dataflow/tmp",
                    "stagingLocation": f"{BUCKET}/dataflow/staging",
                    "serviceAccountEmail": "{{ var.value.gatekeeper_service_account }}",
                },
            }
        },
    )
    finalize_run = BashOperator(
        task_id="finalize_run",
        bash_command=f"gatekeeper finalize --output {BUCKET}/gatekeeper",
    )
    launch_flex_template >> finalize_run
