"""Exports of an approved resource: PDF worksheet, .ics practice time, FHIR R4 resources.

Every function here takes a `ResourceView` (an approved resource and its check-ins), so an
export can only ever carry approved content.
"""
