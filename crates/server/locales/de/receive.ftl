# Die Seite, die eine ausscheidende Kundin oder ein ausscheidender Kunde über den zugesandten
# Link öffnet, und die Seiten, die sagen, was mit einem Link nicht stimmt.

receive-title = Ihre Daten von { $organization }
receive-intro = { $organization } hat alles zusammengestellt, was über Sie gespeichert ist: Ihre Unterlagen, Ihre Dokumente und den Verlauf Ihres Austritts, in einer ZIP-Datei zum Aufbewahren.
receive-size = Größe
receive-until = Link gültig bis
receive-download = Ihre Daten herunterladen
receive-check = So prüfen Sie, dass nichts verändert wurde
receive-check-digest = Jede Datei im Paket hat einen Fingerabdruck (einen SHA-256-Hashwert) im Inhaltsverzeichnis des Pakets, und die ganze ZIP-Datei hat diesen Fingerabdruck:
receive-check-how = Zum Prüfen öffnen Sie auf Ihrem Computer ein Terminal in dem Ordner, in dem Sie die Datei gespeichert haben, und geben den folgenden Befehl mit dem Dateinamen ein (auf einem Mac: shasum -a 256; unter Windows in der PowerShell: Get-FileHash). Er zeigt den Fingerabdruck Ihrer Kopie: Stimmt er mit dem oben überein, ist Ihre Kopie genau das, was { $organization } gesendet hat. Das Paket folgt dem BagIt-Standard (RFC 8493), daher kann jedes BagIt-Werkzeug auch jede einzelne Datei darin prüfen.
receive-acknowledged = Empfang bestätigt von { $name } am { $at }. Vielen Dank.
receive-ack-heading = Empfang bestätigen
receive-ack-intro = Bitte bestätigen Sie den Empfang, sobald Sie das Paket heruntergeladen haben.
receive-ack-name = Ihr vollständiger Name
receive-ack-button = Ich habe das Paket erhalten

link-expired = Dieser Link ist abgelaufen
link-invalid = Dieser Link funktioniert nicht
link-trouble = Etwas ist schiefgegangen
link-try-later = Bitte versuchen Sie es später noch einmal, oder bitten Sie Ihre Ansprechperson um einen neuen Link.
link-name-needed = Bitte geben Sie Ihren Namen ein
link-name-needed-detail = Die Bestätigung braucht Ihren vollständigen Namen (eine Zeile, höchstens 200 Zeichen). Gehen Sie zurück und versuchen Sie es noch einmal.

date-in-words = { $weekday }, { $day }. { $month } { $year }, { $time } Uhr ({ $zone })
decimal-separator = ,
size-bytes = { $n } Byte
weekday-1 = Montag
weekday-2 = Dienstag
weekday-3 = Mittwoch
weekday-4 = Donnerstag
weekday-5 = Freitag
weekday-6 = Samstag
weekday-7 = Sonntag
month-1 = Januar
month-2 = Februar
month-3 = März
month-4 = April
month-5 = Mai
month-6 = Juni
month-7 = Juli
month-8 = August
month-9 = September
month-10 = Oktober
month-11 = November
month-12 = Dezember
