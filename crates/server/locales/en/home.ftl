# Home: what is the signed-in person's to do, and how the offboardings stand.

home-title = Home
home-intro = What is yours to do, and how the offboardings stand.

# The tiles of cases by status.
home-statuses = Cases by status
home-status-cases = { $count ->
    [one] case
   *[other] cases
}

# My tasks, by when they are due.
home-my-tasks = My tasks
home-my-tasks-none = Nothing to do
home-my-tasks-none-detail = Tasks assigned to you or your teams show here.
home-overdue = Overdue
home-due-today = Due today
home-this-week = This week
home-nothing-this-week = Nothing is due this week.
home-later = Later
home-later-more = And { $count } more.

# Overdue tasks by team.
home-overdue-by-team = Overdue tasks by team
home-overdue-none = Nothing overdue
home-overdue-none-detail = Every open task is within its due date.

# The charts; each bar's title is what a screen reader reads of it.
home-activity = Cases opened and closed
home-activity-opened = opened
home-activity-closed = closed
home-activity-chart = Cases opened and closed per week
home-activity-bar-opened = { $week }: { $count ->
    [one] { $count } case
   *[other] { $count } cases
} opened
home-activity-bar-closed = { $week }: { $count ->
    [one] { $count } case
   *[other] { $count } cases
} closed
home-duration = Time to offboard
home-duration-legend = average days, start to completion
home-duration-chart = Average days from start to completion, by week of completion
home-duration-bar = { $week }: { $days ->
    [one] { $days } day
   *[other] { $days } days
} to offboard
home-duration-none = No case completed in these { $weeks } weeks yet.
home-duration-summary = { $count ->
    [one] { $count } case
   *[other] { $count } cases
} completed in these { $weeks } weeks, { $days } days from start to completion on average.
