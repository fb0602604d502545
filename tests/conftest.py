import pytest

@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    "Keep each phase's report on the test item, so fixtures can tell whether the test failed."
    rep = (yield).get_result()
    setattr(item, f"rep_{rep.when}", rep)
