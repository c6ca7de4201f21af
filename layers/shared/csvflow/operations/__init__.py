"""Operating the workflow: executions as the Step Functions console shows them, redrive, DLQ.

Everything here takes boto3 clients, so the same code serves AWS and `csvflow local serve`:
`executions` (queries and view models), `execution_text` (the text view), `execution_graph`
(the graph as SVG or PNG), `dead_letters` (a look at the DLQ), `function_logs` (a log group).
"""
