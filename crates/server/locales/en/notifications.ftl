# Notifications: what was given to the signed-in person, what reaches their inbox, and their
# time zone.

notifications-title = Notifications
notifications-intro = Tasks and cases given to you, reminders of what is due, and your daily digest.
notifications-mark-read = Mark all read
notifications-marked-read = Marked { $count ->
    [one] { $count } notification
   *[other] { $count } notifications
} read.
notifications-none = No notifications
notifications-none-detail = When someone assigns you a task or a case, you hear of it here.
notifications-new = new

# Which notifications also come by email.
notifications-email = Email
notifications-email-intro = Everything above also shows here; choose what reaches your inbox too.
notifications-change = Change
notifications-email-on = on
notifications-email-off = off
notifications-email-stop = Stop emailing me
notifications-email-again = Email me again
# After the form; $email is on or off.
notifications-email-set = Email for { $kind } notifications is { $email } now.

# The person's time zone.
notifications-time-zone-intro = Your daily digest comes at 07:00 here, and times on these pages and in your reminders are shown here.
notifications-time-zone-set = Your time zone is { $zone } now: your digest comes at 07:00 there.
