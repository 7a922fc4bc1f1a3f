#!/usr/bin/env node
import "../dist/blue.js"
