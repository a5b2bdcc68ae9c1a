# The blueprint list, and publishing a new version.

blueprints-title = Blueprints
blueprints-intro = How each kind of offboarding runs: stages, tasks per team, due dates, checks and the confirmation word. A case keeps the version it started with.
blueprints-for = For
blueprints-applies-when = Applies when
blueprints-version = Version
blueprints-origin = Origin
blueprints-always = always
blueprints-publish = Publish a new version
# The part in backticks is the blueprint's field.
blueprints-publish-intro = Paste a blueprint in YAML. It is checked before it is stored; its `version` must be higher than the current one.
blueprints-source = Blueprint YAML
blueprints-publish-submit = Check and publish
# The name lint's problems give the text that was pasted.
blueprints-uploaded = the uploaded blueprint
blueprints-published = Published { $id } version { $version }.
blueprints-lint-found = Lint found { $count ->
    [one] { $count } problem
   *[other] { $count } problems
}; nothing was stored.
blueprints-lint-report = The blueprint with its problems
blueprints-lint-problem = ↳ line { $line }, { $problem }
blueprints-lint-column = column { $column }: { $message }

# A blueprint's page: its stages and tasks, its checks, and a plan preview. Each code, such as
# an id or a condition, follows its words.
blueprint-version-scope = version { $version } · for a { $scope }
blueprint-when = when
blueprint-closes-with = closes with
blueprint-fan-out = opens one child case per active { $kind }
blueprint-after = After
blueprint-needs = Needs
blueprint-only-when = only when
blueprint-of-exit-date = of the exit date
blueprint-after-task = after
blueprint-team = team { $team }
blueprint-checks = Checks
blueprint-check = Check
blueprint-stage = Stage
blueprint-severity = Severity
blueprint-fires-when = Fires when
blueprint-preview = Plan preview
blueprint-preview-submit = Preview
blueprint-preview-none = No active { $scope } to preview this blueprint for.
blueprint-source = The YAML source
