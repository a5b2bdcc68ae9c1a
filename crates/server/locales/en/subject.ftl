# A subject's page: its workspace overview and settings tabs, and the dialogs of a client
# file's party and of a product.

# The head of the page.
subject-frozen = frozen
subject-frozen-why = Records are read-only while the offboarding runs
subject-open-case = Open case { $number }
subject-start = Start Offboarding
subject-overview = Workspace overview
subject-settings = Settings

# Its records.
subject-records = Records
subject-records-documents = Documents
subject-records-notes = Notes
subject-records-contacts = Contacts
subject-records-accounts = Accounts
subject-records-integrations = Integrations
subject-records-assets = Assets
subject-records-work-items = Work items
# The part in backticks is the API's route.
subject-records-more = These are the first { $count } records; the API lists them all, a page at a time (`GET /api/v1/subjects/{ $key }/records`).
subject-records-none = No records yet
subject-records-none-detail = Documents, contacts, accounts, assets and live work show here.
subject-record-add = Add a record
subject-record-kinds = The fields of each kind
subject-record-fields = Fields
subject-record-fields-hint = one `field=value` per line
# The title in the example of a record's fields.
subject-record-example = Quarterly VAT filing
subject-record-add-submit = Add record
# $kind is the record's kind, such as work item.
subject-record-added = Added { $kind } { $number }.

# Its cases and products.
subject-cases = Offboarding cases
subject-cases-none = Never offboarded
# Follows a link to Start Offboarding.
subject-cases-none-start = when { $name } leaves.
subject-products = Products

# The settings tab.
subject-attributes = Attributes
subject-attributes-none = No attributes
subject-attributes-none-detail = Country, time zone, role, manager and the like decide which tasks a blueprint gives.
subject-offboarding = Offboarding
subject-case-running = Case { $number } is running.
subject-offboarding-intro = When { $name } leaves, start a staged, audited offboarding: precheck, freeze, export, revoke, handoff, purge.
# "The whole organization is offboarded from <Settings → General>, by the owner."
subject-organization = The whole organization is offboarded from
subject-organization-settings = Settings → General
subject-organization-by = , by the owner.
# $state is the subject's, such as offboarded.
subject-state-is = { $name } is { $state }.

# The Party Offboarding dialog of a client file.
subject-party-open = Party Offboarding…
subject-party = Party Offboarding
subject-party-status = status
subject-party-resolution = resolution
subject-party-status-explain = The status follows the file: open until work starts, in progress, then review once every task is done.
subject-party-resolution-label = Resolution
subject-party-not-yet = Not yet
subject-party-done-choice = Done
subject-party-cancelled-choice = Cancelled
subject-party-confirm = To resolve as done, type { $word }
subject-party-reason-hint = to cancel
subject-party-done = This offboarding is done and cannot be undone.
subject-party-not-started = not started
subject-party-start = Start the offboarding
subject-party-started = Started the party offboarding as case { $number }.
subject-party-assigned = Assigned case { $number } to { $assignee }.
subject-party-closed = Case { $number } is done: the party is offboarded.
subject-party-cancelled = Cancelled case { $number }.
subject-party-unchanged = Nothing changed.

# The Terminate product dialog.
subject-terminate = Terminate product
subject-terminate-explain = Terminating { $name } starts a case that ends its contracts; it is approved and closed with the typed confirmation word. The party must be offboarded first.
subject-terminate-date = Termination date
subject-terminate-start = Start termination
