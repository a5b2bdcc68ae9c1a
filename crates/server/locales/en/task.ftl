# A task's page: what it asks, its evidence, its history; completing, assigning and waiving it.

task-evidence-required = evidence required
task-what = What to do
task-no-description = No description.
# The part in backticks is the action's name.
task-action = This step is the action `{ $action }`: complete it when it is done, with what shows it.
task-no-assignee = nobody: the owner has it
task-no-due-date = no due date
# Followed by the tasks it comes after.
task-after = After
task-note = Note
task-waived-because = Waived because

# Its evidence files.
task-evidence = Evidence
task-evidence-none = No evidence yet
task-evidence-none-detail = Files attached when the task is completed show here, stored encrypted.

# Completing it.
task-complete = Complete
task-checklist = Checklist
task-note-hint = What was done, and how you know
task-required = required
task-optional = optional
task-mark-done = Mark done
task-read-only = Your role reads tasks; it does not complete them.
task-completed = Completed “{ $task }”{ $files ->
    [0] {""}
    [one] { " " }with { $files } evidence file
   *[other] { " " }with { $files } evidence files
}.

# Assigning or waiving it.
task-manage = Assign or waive
task-nobody = Nobody (the owner's team)
task-assigned = Assigned “{ $task }” to { $assignee }; they have been notified.
task-unassigned = “{ $task }” is unassigned: its owner's team has it.
task-waived = Waived “{ $task }”.

# Its own history.
task-history = History
task-history-none = Nothing has happened to this task yet.
