# Settings → General: the organization's time zone, its offboarding, retention policies and
# legal holds, the connectors and webhooks, and the jobs that gave up.

settings-title = Settings
# Followed by the organization's name and key.
settings-general = General:

# The organization's time zone.
settings-time-zone-intro = People added from now on start in this time zone; each may choose their own on the Notifications page.
settings-time-zone-set = People added from now on start in { $zone }.

# Organization offboarding.
settings-organization = Organization offboarding
settings-organization-intro = Offboarding the whole organization affects every client under it, the organization's integrations, and the retention and purge of all its data. It opens one child case per active client and completes only when all of them are done.
# Followed by a link to the case.
settings-organization-running = The organization's offboarding runs as
settings-organization-case = case { $number }
settings-organization-none = There is no active organization subject to offboard.
settings-organization-start = Start Organization Offboarding
settings-organization-leaves = { $name } leaves Exeunt. Every active client gets a case of its own.
# Followed by the organization's key.
settings-organization-confirm = To confirm, type the organization's key,
settings-organization-submit = Start

# Retention policies.
settings-retention = Retention policy
settings-retention-none = No retention policy
settings-retention-none-detail = Offboarded data is kept until the owner sets how long.
settings-retention-kept = Kept
settings-retention-set-by = Set by
settings-every-other-kind = every other kind
settings-retention-keep = Keep for
settings-retention-keep-hint = 7y, 1y6m, 90d or 0
settings-retention-set = Set
# $kind is a kind of subject, such as client, or subjects for every other kind.
settings-retention-subjects = subjects
settings-retention-set-done = Offboarded { $kind } are kept { $period } after completion, then purged.

# Legal holds.
settings-holds = Legal holds
settings-holds-none = No legal hold
settings-holds-none-detail = A hold pauses every purge it covers until it is lifted.
settings-hold-lift-reason = Reason to lift
settings-hold-lift = Lift
settings-hold-lifted = Lifted the legal hold.
settings-hold-subject = Subject key
settings-hold-subject-hint = empty for the whole organization
settings-hold-place = Place a legal hold
# $covers is a subject's key or the whole organization.
settings-hold-placed = Placed a legal hold over { $covers }: nothing it covers is purged until it is lifted.

# Connectors and webhooks. The parts in backticks are commands and routes.
settings-connectors = Connectors
settings-connectors-none = No connector
settings-connectors-none-detail = Accounts are revoked by people, task by task. An admin adds one with `exeunt connector set` or `PUT /api/v1/connectors/{"{"}name{"}"}`.
settings-connector-system = System
settings-connector-target = Target
settings-webhooks = Audit webhooks
settings-webhooks-none = No webhook
settings-webhooks-none-detail = Audit events stay in Exeunt. An admin adds one with `exeunt webhook set`.
settings-webhook-name = Name
settings-webhook-sends = Sends
settings-webhook-delivered = Delivered
settings-webhook-through = through event { $seq }

# Jobs that gave up.
settings-dead-jobs = Jobs that gave up
settings-dead-jobs-none = None
settings-dead-jobs-none-detail = Every email and connector call went through, or is still being tried.
settings-dead-jobs-error = Last error
settings-dead-jobs-retry = Send again
settings-dead-job-retried = Job { $id } ({ $kind }) is queued again, with a fresh set of attempts.
