# The plan a blueprint gives a subject, as Start Offboarding and a blueprint's page preview it.

plan-time-zone = Due dates in { $zone }, the subject's time zone.
plan-findings = Precheck will find:
plan-no-tasks = No tasks for this subject.
# Followed by the tasks left out, each with the condition it lacks.
plan-skipped = Not for this subject:
plan-skipped-when = (when { $condition })
