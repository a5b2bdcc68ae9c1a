# The Audit Center: the organization's whole history, filtered, and the check of its chain.

audit-title = Audit Center
audit-intro = Every change in this organization: what, when, who and why, hash-chained so that no event can be altered or removed unnoticed.
audit-verify = Verify chain
audit-chain-intact = The audit chain is intact: { $count ->
    [one] { $count } event
   *[other] { $count } events
}, every link checked.
# $problem says where the chain broke.
audit-chain-broken = The audit chain is broken: { $problem }

# The filters.
audit-subject-key = Subject key
audit-actor = Actor
audit-anyone = Anyone
audit-action = Action
audit-action-hint = e.g. task.completed
audit-from = From
audit-to = To
audit-none = No events match
audit-none-detail = Loosen the filters to see more.

# The events.
audit-who = Who
audit-about = About
audit-what = What
# What an event's summary says when a purge erased it.
audit-erased = (erased by a purge)

# What an event is about, followed by its reference (a key, a task's id) where it has one.
audit-about-case = Case { $number }
audit-about-task = Case { $number }, task
audit-about-export = Case { $number }, export
audit-about-revocation = Case { $number }, access removal for
audit-about-record = Record { $number } of
audit-about-subject = Subject
audit-about-blueprint = Blueprint
audit-about-blueprint-version = Blueprint, version { $version },
audit-about-user = User { $name }
audit-about-former-user = A former user
audit-about-tenant = The organization
