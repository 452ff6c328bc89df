#!/usr/bin/env python3
"""botocore's reading of an AWS shared config file, the oracle for ProfileFiles' grammar.

    python3 Tests/Oracle/shared_config.py FILE

Prints one JSON object: {"profiles": {NAME: {KEY: VALUE or {SUBKEY: VALUE}}}} as
botocore.configloader.load_config (what the AWS CLI uses) reads FILE, or
{"error": "..."} when botocore refuses it.
"""
import json
import sys

import botocore.configloader
import botocore.exceptions

try:
    parsed = botocore.configloader.load_config(sys.argv[1])
    print(json.dumps({"profiles": parsed["profiles"]}))
except botocore.exceptions.BotoCoreError as e:
    print(json.dumps({"error": str(e)}))
