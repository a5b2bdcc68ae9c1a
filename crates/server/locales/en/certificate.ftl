# A completed case's certificate, as a person reads and prints it.

certificate-title = Certificate of case { $number }
certificate-print = Print
certificate-download = Download the signed certificate
certificate-heading = Certificate of completed offboarding
# "<organization> certifies that the offboarding of <kind> <key> was completed, under case
# <number>, on <when>."
certificate-lead = { $organization } certifies that the offboarding of { $kind }
certificate-lead-end = was completed, under case { $number }, on { $completed }.
certificate-organization = Organization
certificate-process = Process
# Followed by the blueprint's id and version.
certificate-blueprint = blueprint
certificate-completed = Completed
certificate-approved-by = Approved by
certificate-export = Data export
# Followed by the digest.
certificate-export-digest = a package with the digest
certificate-export-none = none was built
certificate-audit = Audit trail
# Followed by the chain's head.
certificate-audit-head = event { $seq } of the organization's hash-chained audit log, whose head was
certificate-checkpoint = , signed as a checkpoint

# How anyone checks it.
certificate-check = How anyone can check this certificate
# Followed by the address of the organization's keys, then the commands.
certificate-check-how = This page shows a certificate that { $organization } signed with its Ed25519 key when the case was completed (a compact JWS). Download it from this page, then check its signature against the organization's published keys at
certificate-check-with = , for example with Exeunt:
# The part in backticks is the algorithm's name.
certificate-check-jose = Any JOSE library checks it too (the algorithm is `EdDSA`). The certificate names the subject by its key only, so it stays valid, and this page stays readable, after the subject's data is purged.
