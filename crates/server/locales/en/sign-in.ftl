# Signing in.

sign-in-title = Sign in
sign-in-heading = Sign in to Exeunt
# Followed by a link to the first-run page.
sign-in-first-run = An owner here has no password yet:
sign-in-first-run-link = set it up
sign-in-organization = Organization
sign-in-organization-hint = its short name, e.g. demo
sign-in-email = Email
sign-in-password = Password

# The first run, which gives an owner who has no password their first. The parts in backticks
# are commands.
first-run-title = Set up Exeunt
first-run-heading = Welcome to Exeunt
first-run-intro = Nobody can sign in until the owner has a password. Choose it here.
# "Organization <name>; the owner signs in as <email>."
first-run-organization = Organization
first-run-owner = ; the owner signs in as
first-run-tenant = { $name } ({ $slug }; owner { $owner })
first-run-code = Setup code
first-run-code-hint = printed by `exeunt serve` when it started
first-run-password = New password
first-run-password-hint = at least 12 characters
first-run-confirm = The same password again
first-run-submit = Set the password and sign in
first-run-no-code = This server was started without a setup code. Restart it with `exeunt serve`, which prints one, or give the owner a password with `exeunt user reset-password`.
first-run-wrong-code = code: that is not the setup code this server printed when it started
first-run-passwords-differ = confirm: the two passwords differ; type the same one twice
