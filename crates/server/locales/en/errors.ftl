# The page a problem shows: its title by the kind of problem; what happened is the problem's
# own detail, worded as the API and the CLI word it.

errors-not-found = Not found
errors-forbidden = Not allowed
errors-frozen = Frozen by an offboarding
errors-conflict = Not possible now
errors-gone = No longer available
errors-not-accepted = Not accepted
errors-trouble = Something went wrong
errors-home = Back to home

# When a page itself could not be drawn.
errors-unrendered-title = Error
errors-unrendered = The page could not be shown.
