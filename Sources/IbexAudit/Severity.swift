import IbexCore

/// Severities and the `--fail-on` threshold are shared with `ibex doctor` (IbexCore/Severity.swift).
public typealias Severity = IbexCore.Severity
public typealias FailThreshold = IbexCore.FailThreshold
