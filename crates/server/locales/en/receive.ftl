# The page a departing client opens from the link they were sent, and the pages that say what
# went wrong with a link. Its reader is not an engineer: plain words, no jargon.

receive-title = Your data from { $organization }
receive-intro = { $organization } has put together everything it holds about you: your records, your documents and the history of your offboarding, in one zip file for you to keep.
receive-size = Size
receive-until = Link works until
receive-download = Download your data
receive-check = How to check that nothing was changed
receive-check-digest = Every file in the package comes with a fingerprint (a SHA-256 digest) in the package's list of contents, and the whole zip file has this fingerprint:
receive-check-how = To check it on your computer, open a terminal in the folder you saved the file to and run the command below followed by the file's name (on a Mac: shasum -a 256; on Windows, in PowerShell: Get-FileHash). It prints the fingerprint of your copy: when it is the one above, your copy is exactly what { $organization } sent. The package follows the BagIt standard (RFC 8493), so any BagIt tool can also check each file inside it.
receive-acknowledged = Receipt acknowledged by { $name } on { $at }. Thank you.
receive-ack-heading = Acknowledge receipt
receive-ack-intro = Once you have downloaded the package, please confirm that you received it.
receive-ack-name = Your full name
receive-ack-button = I received the package

link-expired = This link has expired
link-invalid = This link does not work
link-trouble = Something went wrong
link-try-later = Please try again later, or ask your contact for a new link.
link-name-needed = Please type your name
link-name-needed-detail = The acknowledgement needs your full name (one line, at most 200 characters). Go back and try again.

# An instant in words: "Monday 21 December 2026, 06:06 (CET)".
date-in-words = { $weekday } { $day } { $month } { $year }, { $time } ({ $zone })
decimal-separator = .
size-bytes = { $n ->
    [one] { $n } byte
   *[other] { $n } bytes
}
weekday-1 = Monday
weekday-2 = Tuesday
weekday-3 = Wednesday
weekday-4 = Thursday
weekday-5 = Friday
weekday-6 = Saturday
weekday-7 = Sunday
month-1 = January
month-2 = February
month-3 = March
month-4 = April
month-5 = May
month-6 = June
month-7 = July
month-8 = August
month-9 = September
month-10 = October
month-11 = November
month-12 = December
