"""pytest configuration for every collected file (tests, doctests, the docs' pages): results
files go to a temporary folder."""

import os

import pytest

#: Not pages: Sphinx's configuration and what a docs build writes.
collect_ignore_glob = ["docs/conf.py", "docs/_ext/*", "docs/_build/*", "docs/auto_examples/*",
                       "docs/generated/*", "docs/sg_execution_times.rst"]


@pytest.fixture(autouse=True, scope="session")
def _results_in_a_temporary_folder(tmp_path_factory):
    """Commands under test write their results files to a temporary folder, never to the
    repository's ``benchmarks/results`` (whose files the README's tables are made from)."""
    folder = tmp_path_factory.mktemp("results")
    previous = os.environ.get("PHYSML_RESULTS")
    os.environ["PHYSML_RESULTS"] = str(folder)
    yield folder
    if previous is None:
        del os.environ["PHYSML_RESULTS"]
    else:
        os.environ["PHYSML_RESULTS"] = previous
