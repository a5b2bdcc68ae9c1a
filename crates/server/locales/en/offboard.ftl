# Start Offboarding: the blueprint, the exit date and the owner, the plan, then the case.

offboard-title = Start offboarding { $name }
offboard-heading = Start Offboarding
offboard-intro = { $name } ({ $kind }). Choose how, check the plan, then start.
offboard-step-choose = 1. Blueprint, exit date and owner
offboard-blueprint = { $title } (v{ $version })
offboard-owner = Case owner
offboard-preview = Preview the plan
offboard-no-blueprint = No blueprint is for a { $kind }.
offboard-step-plan = 2. The plan ({ $blueprint })
offboard-step-start = 3. Start the offboarding
offboard-started = Started case { $number } with { $tasks ->
    [one] { $tasks } task
   *[other] { $tasks } tasks
}{ $children ->
    [0] {""}
    [one] { " " }and { $children } child case
   *[other] { " " }and { $children } child cases
}.
