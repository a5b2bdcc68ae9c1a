# A case's page: its stages, precheck's findings, its tasks, the export package, access and
# handoffs, retention and legal holds, its timeline, and the dialogs that close or cancel it.

# The head of the page.
case-facts = { $subject } ({ $kind }) · { $blueprint } · exit { $exit }
case-frozen-since = records frozen since { $since }
case-precheck = Run precheck
case-prechecked = Precheck ran: { $count ->
    [one] { $count } finding
   *[other] { $count } findings
} open.
case-cancel = Cancel case
case-close = Close case…
case-close-why = Closes once every task is done or waived: { $count ->
    [one] { $count } task is
   *[other] { $count } tasks are
} still open.
case-certificate = Certificate
# "This case is done since <when>: <subject> is fully offboarded (<reason>). It can never
# change again.", each part but the first as it applies.
case-done = This case is done
case-done-since = since { $closed }
case-done-completed = { $subject } is fully offboarded
case-done-final = It can never change again.

# The stages.
case-stages = Stages
case-stage-done = { $closed }/{ $total } done
case-stage-blocked = blocked
case-stage-freezes = freezes

# Precheck's blockers and warnings.
case-findings = Blockers and warnings
case-blocking = { $count } blocking
case-findings-none = Precheck found nothing
case-findings-none-detail = No blockers or warnings stand in the way.
case-finding-waived = waived by { $who }: { $reason }
case-finding-waived-done = Waived `{ $check }`.

# The owner and the dates.
case-owner-dates = Owner and dates
case-opened = Opened
case-reassign = Reassign to
case-assigned = { $owner } owns case { $number } now.

# The tasks, stage by stage.
case-tasks-open = { $count } open
case-tasks-csv = Download the tasks as CSV
case-who-acts = Who acts
case-any-of-team = (any of the team)

# The export package and the client's link to it.
case-export = Export package
case-export-none = No export yet
case-export-none-detail = Export before anything is deleted: a BagIt package with SHA-256 manifests and a signed receipt.
case-export-requested = Requested
case-export-package = Package
case-export-acknowledged = Acknowledged by { $name } on { $at }
case-export-waived = Acknowledgement waived by { $name }: { $reason }
case-export-download = Download the package
case-export-build = Build export
# $status is the export's, such as queued.
case-export-queued = Export { $status }: the package is built in the background; reload to see it ready.
case-link-days = Client link valid for (days)
case-link-create = Create the client's link
case-link-created = Send the client this link (valid until { $until }): { $link }
case-ack-waive-reason = Delivered another way? Why
case-ack-waive = Waive acknowledgement
case-ack-waived = The export counts as delivered without the client's acknowledgement.

# Retention and legal holds.
case-governance = Retention and legal hold
case-retention = Retention
case-retention-period = { $period } after completion
case-retention-none = no policy for this kind: kept until the owner sets one
case-purge-from = Purge from
case-purge = Purge
case-legal-hold = Legal hold
case-legal-hold-none = none
case-on-hold = on hold
# $scope is this subject or the whole organization.
case-hold = Hold over { $scope }: { $reason }
case-hold-subject = this subject
# Follows a link to Settings.
case-governance-settings = has the policies and holds.

# Access and integrations to revoke.
case-access = Access and integrations
case-access-none = Nothing to revoke
case-access-none-detail = The subject has no accounts or integrations on record.
# Followed by the exposure window.
case-access-ends = The exit takes effect for access at { $at }.
case-exposure = Exposure window:
case-record = Record
case-status-exposure = Status and exposure
case-connector-evidence = Evidence from connector { $connector }
case-connector-checks = Checked afterwards:
case-revocation-now = Now
case-revocation-revoked = revoked
case-revocation-verified = verified gone
case-revocation-failed = failed
case-revocation-waived = waived
case-revocation-note = How it was checked / why
case-revocation-record = Record
# $record is the account's or integration's label, $status such as revoked.
case-revocation-set = { $record } is { $status } now.
case-jobs = Background jobs

# The handoff of live work.
case-handoff = Handoff of live work
case-handoff-none = No live work
case-handoff-none-detail = The subject owns no work items.
case-work-item = Work item
case-new-owner = New owner
case-choose = Choose…
case-hand-off = Hand off
case-nobody-yet = nobody yet
case-handed-off = Work item { $record } is { $owner }'s now.

# Child cases and the timeline.
case-children = Child cases
case-timeline = Timeline
case-timeline-all = The whole history in the Audit Center

# The dialogs that close or cancel the case. "Resolution: <completed>."
case-resolution = Resolution:
case-resolution-completed = completed
case-resolution-cancelled = cancelled
case-close-heading = Close case { $number }
case-close-explain = { $subject } becomes fully offboarded and the case can never be reopened.
case-close-confirm = Type `{ $word }` to confirm
case-close-submit = Close as completed
case-closed-done = Case { $number } is done: completed, fully offboarded.
case-cancel-heading = Cancel case { $number }
case-cancel-explain = Every task and the whole history stay.
case-cancel-submit = Cancel the case
case-cancelled = Cancelled case { $number }; its tasks and history are kept.
