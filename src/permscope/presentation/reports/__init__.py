"""The monitoring reports (`permscope report`, the API's and the web UI's downloads, scheduled delivery): one view
model per report (`model`, built per kind in `kinds`), written as CSV, XLSX, PDF or OCSF JSON lines by one
renderer per format, and `files.make_report_file` to put one in a file. (The HTML report of `permscope scan` is
`presentation.report`.)"""
