# The subject list: who and what can be offboarded.

subjects-title = Subjects
subjects-intro = Clients, products, employees and the organization: who and what can be offboarded.
subjects-search = Search
subjects-search-hint = name or key
subjects-any-kind = Any kind
subjects-show-offboarded = Show offboarded
subjects-none = No subjects match
subjects-none-hidden = Offboarded subjects are hidden; tick “Show offboarded” to see them.
# The parts in backticks are commands.
subjects-none-add = Add subjects with `exeunt subject add` or `exeunt subject import`.
subjects-name = Name
subjects-key = Key
subjects-state = State
