"""What people and programs are shown: Graph wire JSON, CSV rows and the HTML report, shared by api, cli and web."""
