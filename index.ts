/**
 * homelab: the whole home lab as one Pulumi program. `pulumi up -s <segment>` deploys one
 * network; `pulumi up -s dmz` (after the segments) deploys DNS, NTP and the proxy.
 */
import * as pulumi from "@pulumi/pulumi";
import { runProgram } from "./stacks";

export = async () => runProgram(pulumi.getStack(), __dirname);
