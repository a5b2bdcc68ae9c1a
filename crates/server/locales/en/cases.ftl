# The case list: every offboarding run, newest first.

cases-title = Cases
cases-intro = Every offboarding run, newest first.
cases-csv = Download as CSV
cases-any-status = Any status
cases-none = No cases
cases-none-with-status = No cases with this status
cases-none-detail = Start one from a subject's page with Start Offboarding.
