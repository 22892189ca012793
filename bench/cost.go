package main

import (
	"fmt"
	"io"
	"math"
)

// Prices in us-east-1, as last known in 2025. The bench machine cannot
// reach the AWS pages, so they were not checked on the day of the run.
const (
	// AWS Lambda pricing, Arm: per GB-second and per request.
	priceLambdaGBSecond = 0.0000133334
	priceLambdaRequest  = 0.20 / 1e6
	// Amazon DynamoDB pricing, on-demand capacity (after the November 2024
	// reduction): per write and per read request unit.
	priceWriteUnit = 0.625 / 1e6
	priceReadUnit  = 0.125 / 1e6
	// AWS IoT Core pricing, messaging: per message (5 KB increments) for
	// the first billion messages of a month.
	priceIoTMessage = 1.00 / 1e6
	// Amazon MQ pricing, ActiveMQ mq.m5.large single-instance broker: per
	// hour. An active/standby pair costs twice as much.
	priceBrokerHour = 0.288
	// Amazon EventBridge pricing, EventBridge Scheduler: per invocation;
	// the first 14 million invocations of a month are free.
	priceSchedulerInvocation = 1.00 / 1e6
	schedulerFreeInvocations = 14e6
	// Amazon CloudWatch pricing, Logs: per GB ingested (standard class).
	priceLogGB = 0.50
)

// indexWritesPerFire counts the writes to the owner-index GSI per fire.
// The run summary update changes the schedule item, which the index
// projects with all its attributes. DynamoDB bills an index write for each
// change to a projected item.
const indexWritesPerFire = 1

// hoursPerMonth is the month that AWS prices per hour assume.
const hoursPerMonth = 730

// costInputs are the per-fire figures that the cost model takes from the
// burst measurement, and the assumptions it adds.
type costInputs struct {
	batchSize       float64 // wake-ups per dispatcher invocation, measured
	handlerMillis   float64 // dispatcher time per invocation, measured locally
	readUnits       float64 // per fire: one strongly consistent read of an item up to 4 KB per schedule read
	writeUnits      float64 // per fire: one unit per write of an item up to 1 KB
	logBytes        float64 // dispatcher log per fire, measured
	dispatcherMB    float64 // dispatcher memory size, the stack's default
	targetMillis    float64 // assumed billed duration of a one-fire Lambda target
	targetMB        float64
	platformLogB    float64 // Lambda's START, END and REPORT lines per invocation, estimated
	messagesPerFire float64 // IoT Core messages per fire: the publish and one delivery
}

// costInputsFrom reads the inputs from the burst rows of res.
func costInputsFrom(res *results, o *options) costInputs {
	return costInputs{
		batchSize:       res.median("burst.batch"),
		handlerMillis:   res.median("burst.busy"),
		readUnits:       1 + res.median("burst.getitem"),
		writeUnits:      res.median("burst.writes") + indexWritesPerFire,
		logBytes:        res.median("burst.logbytes"),
		dispatcherMB:    256,
		targetMillis:    o.targetMillis,
		targetMB:        128,
		platformLogB:    350,
		messagesPerFire: 2,
	}
}

// monthlyCost is one design's cost for one month, by part.
type monthlyCost struct {
	broker, lambda, dynamo, iot, logs, scheduler float64
}

func (c monthlyCost) total() float64 {
	return c.broker + c.lambda + c.dynamo + c.iot + c.logs + c.scheduler
}

// mqcronCost returns mqcron's cost for fires per month.
func (in costInputs) mqcronCost(fires float64) monthlyCost {
	invocations := fires / in.batchSize
	gbSeconds := invocations * in.handlerMillis / 1000 * in.dispatcherMB / 1024
	logBytes := fires*in.logBytes + invocations*in.platformLogB
	return monthlyCost{
		broker: priceBrokerHour * hoursPerMonth,
		lambda: invocations*priceLambdaRequest + gbSeconds*priceLambdaGBSecond,
		dynamo: fires * (in.readUnits*priceReadUnit + in.writeUnits*priceWriteUnit),
		iot:    fires * in.messagesPerFire * priceIoTMessage,
		logs:   logBytes / 1e9 * priceLogGB,
	}
}

// eventBridgeCost returns the cost of EventBridge Scheduler with a Lambda
// target that publishes each fire to IoT Core, for fires per month. With
// free set, the scheduler's free invocations are taken off.
func (in costInputs) eventBridgeCost(fires float64, free bool) monthlyCost {
	gbSeconds := fires * in.targetMillis / 1000 * in.targetMB / 1024
	billed := fires
	if free {
		billed = math.Max(0, fires-schedulerFreeInvocations)
	}
	return monthlyCost{
		scheduler: billed * priceSchedulerInvocation,
		lambda:    fires*priceLambdaRequest + gbSeconds*priceLambdaGBSecond,
		iot:       fires * in.messagesPerFire * priceIoTMessage,
		logs:      fires * in.platformLogB / 1e9 * priceLogGB,
	}
}

// costVolumes are the monthly fire counts of the cost table.
var costVolumes = []float64{1e4, 1e6, 1e8}

// writeCost writes the cost tables and the prices they use.
func writeCost(w io.Writer, in costInputs) {
	fmt.Fprintf(w, "Inputs measured in this run (medians): %.1f wake-ups per dispatcher invocation, "+
		"%.1f ms handler time per invocation (local servers; IoT Core's HTTPS publish is slower than "+
		"mosquitto), %.2f DynamoDB write requests and %.2f read units per fire, %.0f bytes of handler log per fire.\n\n",
		in.batchSize, in.handlerMillis, in.writeUnits-indexWritesPerFire, in.readUnits, in.logBytes)
	fmt.Fprintf(w, "Assumptions: every DynamoDB item is at most 1 KB, as the bench's are, so each write costs one write "+
		"unit and each strongly consistent read one read unit. The run summary update of each fire rewrites the "+
		"schedule item, which the owner-index GSI projects in full, so it costs %d more write unit for the index; "+
		"a schedule item of n KB costs n units twice. The dispatcher has %.0f MB of memory (the stack's default); "+
		"each fire is %.0f IoT Core messages (the publish and the delivery to one subscribed device); Lambda writes "+
		"about %.0f bytes of START, END and REPORT lines per invocation; the EventBridge design's Lambda target has "+
		"%.0f MB and bills %.0f ms per fire (an estimate for one IoT Core publish, not measured here). Free tiers are "+
		"left out except in the last column.\n\n", indexWritesPerFire, in.dispatcherMB, in.messagesPerFire, in.platformLogB, in.targetMB, in.targetMillis)

	fmt.Fprintln(w, "| fires per month | mqcron: broker | mqcron: Lambda | mqcron: DynamoDB | mqcron: IoT Core | "+
		"mqcron: logs | **mqcron total** | mqcron per fire | EventBridge + Lambda total | per fire | "+
		"EventBridge + Lambda with 14 M free invocations |")
	fmt.Fprintln(w, "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, f := range costVolumes {
		m := in.mqcronCost(f)
		eb := in.eventBridgeCost(f, false)
		ebFree := in.eventBridgeCost(f, true)
		fmt.Fprintf(w, "| %s | %s | %s | %s | %s | %s | **%s** | %s | %s | %s | %s |\n",
			format(f, 0), dollars(m.broker), dollars(m.lambda), dollars(m.dynamo), dollars(m.iot), dollars(m.logs),
			dollars(m.total()), dollars(m.total()/f), dollars(eb.total()), dollars(eb.total()/f), dollars(ebFree.total()))
	}
	fmt.Fprintln(w)
	m, eb := in.mqcronCost(1e6), in.eventBridgeCost(1e6, false)
	fmt.Fprintf(w, "Per million fires, mqcron's cost besides the broker is %s, of which DynamoDB is %s and IoT Core %s; "+
		"EventBridge Scheduler with a Lambda target costs %s, of which IoT Core is %s. The broker adds %s a month "+
		"whatever the volume.\n",
		dollars(m.total()-m.broker), dollars(m.dynamo), dollars(m.iot), dollars(eb.total()), dollars(eb.iot), dollars(m.broker))
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Prices (us-east-1, on-demand list prices as last known in 2025; this machine cannot reach the "+
		"AWS pages, so they were not checked on the day of the run):")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "| price | value | source page |")
	fmt.Fprintln(w, "| --- | --- | --- |")
	fmt.Fprintf(w, "| Amazon MQ for ActiveMQ, mq.m5.large single-instance | $%.3f per hour (%d hours a month); active/standby doubles it | Amazon MQ pricing |\n", priceBrokerHour, hoursPerMonth)
	fmt.Fprintf(w, "| Lambda duration, Arm | $%.10f per GB-second | AWS Lambda pricing |\n", priceLambdaGBSecond)
	fmt.Fprintf(w, "| Lambda requests | $%.2f per million | AWS Lambda pricing |\n", priceLambdaRequest*1e6)
	fmt.Fprintf(w, "| DynamoDB on-demand writes | $%.3f per million write request units | Amazon DynamoDB pricing |\n", priceWriteUnit*1e6)
	fmt.Fprintf(w, "| DynamoDB on-demand reads | $%.3f per million read request units | Amazon DynamoDB pricing |\n", priceReadUnit*1e6)
	fmt.Fprintf(w, "| IoT Core messaging | $%.2f per million messages (first billion a month, 5 KB steps) | AWS IoT Core pricing |\n", priceIoTMessage*1e6)
	fmt.Fprintf(w, "| EventBridge Scheduler | $%.2f per million invocations, first %s a month free | Amazon EventBridge pricing |\n", priceSchedulerInvocation*1e6, format(schedulerFreeInvocations, 0))
	fmt.Fprintf(w, "| CloudWatch Logs ingestion | $%.2f per GB | Amazon CloudWatch pricing |\n", priceLogGB)
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Not included on either side: data transfer, NAT gateway or VPC endpoint hours of the "+
		"dispatcher's VPC, broker storage (scenario 2 shows the job store's size), API Gateway and the create path.")
}

// dollars formats a price with enough digits to show its size.
func dollars(v float64) string {
	switch {
	case math.IsNaN(v):
		return "n/a"
	case v == 0:
		return "$0"
	case v >= 100:
		return "$" + format(v, 0)
	case v >= 1:
		return fmt.Sprintf("$%.2f", v)
	case v >= 0.01:
		return fmt.Sprintf("$%.3f", v)
	default:
		// Two significant digits, without an exponent.
		return fmt.Sprintf("$%.*f", 1-int(math.Floor(math.Log10(v))), v)
	}
}
