#!/usr/bin/env python3
"""The example app: `make synth` runs it through the pinned aws-cdk CLI."""

import aws_cdk as cdk

from stacks.app import build_app

app = cdk.App()
build_app(app)
app.synth()
