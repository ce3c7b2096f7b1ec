"""JUnit XML, the test report format CI systems read: one suite per flow, one case per test."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from interlace.testing.runner import TestResult


def as_junit(results: list[TestResult], *, name: str = "interlace") -> str:
    root = ET.Element("testsuites", name=name, tests=str(len(results)))
    suites: dict[str, ET.Element] = {}
    for r in results:
        suite = suites.get(r.flow)
        if suite is None:
            suite = suites[r.flow] = ET.SubElement(root, "testsuite", name=r.flow)
        case = ET.SubElement(suite, "testcase", classname=r.flow, name=r.test, time=f"{r.seconds:.4f}")
        if r.error is not None:
            ET.SubElement(case, "error", message=r.error).text = r.error
        elif r.failures:
            ET.SubElement(case, "failure", message=r.failures[0]).text = "\n".join(r.failures)
    for flow, suite in suites.items():
        mine = [r for r in results if r.flow == flow]
        suite.set("tests", str(len(mine)))
        suite.set("failures", str(sum(1 for r in mine if r.failures and r.error is None)))
        suite.set("errors", str(sum(1 for r in mine if r.error is not None)))
    root.set("failures", str(sum(1 for r in results if r.failures and r.error is None)))
    root.set("errors", str(sum(1 for r in results if r.error is not None)))
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"
