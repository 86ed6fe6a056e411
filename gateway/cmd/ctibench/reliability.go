package main

// reliabilityIntro heads RELIABILITY.md: what the fault suite does and
// what each figure means, so that the figures below it can be read.
const reliabilityIntro = "# Reliability\n\n" +
	"The latest figures of `make chaos` (`ctibench -faults`, gateway/bench/faults*.go). `make test` runs a quick " +
	"version (TestFaultsQuick: 6 agents, 2 s per fault) that fails on any loss.\n\n" +
	"One system runs the whole suite: a real PostgreSQL and slapd (gateway/devstack), the simulated PBX (pbxsim) and " +
	"the gateway as its own process on a fixed address. Agents log in over WebSocket through a relay that stands for " +
	"their network, keep logged in as the extension does (a socket that ends is reconnected and logged in again; the " +
	"snapshot resynchronises the panel) and work every call that rings (answer, hold, retrieve, hang up). The switch " +
	"rings free agents at the configured rate; a caller whose call is not over after the longest fault plus 12 s " +
	"hangs up. Each fault is injected after a second of load, held, ended; the load runs on until the gateway has " +
	"recovered, then every call ends on the switch and the figures are taken against the switch's truth (every call " +
	"pbxsim made during that fault's run):\n\n" +
	"- **detect**: from injection to the first sign the gateway noticed: `/readyz` not 200, a `link` down event at an " +
	"agent, the agents' sockets closed, a refusal (an error code to the poison row, a login limit, an idle socket " +
	"closed or refused). \"never\" is not a loss by itself (a malformed frame that is skipped needs no detection).\n" +
	"- **recover**: from the end of the fault until `/readyz` is 200 and a call started after the end rings in an " +
	"agent's panel (for the login flood also: an untouched account logs in from the agents' address and from the " +
	"flood's). \"never\" (30 s) fails the fault.\n" +
	"- **calls lost**: calls the switch made that the agent's panel never showed (by event or snapshot).\n" +
	"- **events lost after resync**: calls the switch ended that the panel still shows ringing, connected or held 5 s " +
	"after the switch went idle.\n" +
	"- **call-log rows lost**: calls the switch made with no row with `ended` set in PostgreSQL's `calls` table 10 s " +
	"after the switch went idle.\n" +
	"- **RSS**: the gateway's resident set before the fault and its peak during it (sampled every 100 ms).\n\n" +
	"Faults run in this order on the same system, so a fault that leaves damage (a wedged writer, a locked-out " +
	"address) can show in the ones after it; the poison row runs last for that reason.\n\n"

func reliabilityDoc(figures string) string { return reliabilityIntro + figures }
