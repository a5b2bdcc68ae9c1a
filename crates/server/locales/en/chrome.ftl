# What every page of the Offboarding Center shows around its content: the header with the
# navigation, who is signed in, and the pager of long lists.

# $page is the page's own title.
chrome-title = { $page } · Exeunt
chrome-skip = Skip to content
chrome-nav = Main
chrome-nav-home = Home
chrome-nav-subjects = Subjects
chrome-nav-cases = Cases
chrome-nav-audit = Audit Center
chrome-nav-blueprints = Blueprints
chrome-nav-settings = Settings
chrome-notifications = Notifications
chrome-unread = { $count } unread
chrome-sign-out = Sign out

# A deadline where the subject's clock reads otherwise: "Mon 2026-11-23 17:00 CET (Mon 11:00
# in America/New_York)".
chrome-deadline-elsewhere = { $here } ({ $there } in { $zone })
chrome-subject-zone = the subject's zone

# The pager of a long list.
pager-label = Pages
pager-first = ← First page
pager-next = Next →

# Words many pages share: column headers, labels, buttons and badges.
shared-action = Action
shared-assign = Assign
shared-assignee = Assignee
shared-attempts = Attempts
shared-back = Back
shared-blueprint = Blueprint
shared-cancel = Cancel
shared-case = Case
shared-close = Close
shared-closed = Closed
shared-due = Due
shared-evidence = evidence
shared-exit = Exit
shared-exit-date = Exit date
shared-filter = Filter
shared-freezes-records = freezes records
shared-job = Job
shared-kind = Kind
shared-notified = they get notified
shared-overdue = overdue
shared-owner = Owner
shared-progress = Progress
shared-reason = Reason
shared-reason-to-waive = Reason to waive
shared-save = Save
shared-status = Status
shared-subject = Subject
shared-task = Task
shared-tasks = Tasks
shared-time-zone = Time zone
shared-time-zone-hint = such as Europe/Berlin
shared-waive = Waive
shared-when = When
shared-whole-organization = the whole organization

# The statuses of a case, as labels.
shared-status-open = Open
shared-status-in-progress = In progress
shared-status-review = Review
shared-status-done = Done

# Cases, tasks and sizes.
shared-case-number = Case { $number }
shared-case-of = Case { $number } · { $subject }
shared-tasks-closed = { $closed }/{ $total } { $total ->
    [one] task
   *[other] tasks
}
shared-bytes = { $count } { $count ->
    [one] byte
   *[other] bytes
}
# Who did something, and when.
shared-who-on = { $who } on { $day }
shared-when-by = { $when } by { $who }
