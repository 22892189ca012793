# CDK targets: build the Lambda binaries, synthesize, diff and deploy the
# stack of one environment. ENV selects the settings in cdk.json.

GO ?= go
ENV ?= dev
CDK ?= tools/node_modules/.bin/cdk
LAMBDAS := scheduler dispatcher
# Flags for `cdk deploy`; CI passes --require-approval never.
DEPLOY_FLAGS ?=

# No CLI telemetry or notices. The JSII variable silences the Node.js
# end-of-life banner of the jsii runtime.
CDK_ENV := CDK_DISABLE_CLI_TELEMETRY=true JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION=1
CDK_FLAGS := --no-notices -c env=$(ENV)

.PHONY: lambdas synth diff deploy bootstrap diagram lint-ci cdk-check

lambdas: ## build the Lambda bootstrap binaries (linux/arm64) into build/lambda/
	@for name in $(LAMBDAS); do \
		echo "build build/lambda/$$name/bootstrap"; \
		GOOS=linux GOARCH=arm64 CGO_ENABLED=0 $(GO) build -tags lambda.norpc -trimpath -ldflags='-s -w' \
			-o build/lambda/$$name/bootstrap ./lambdas/$$name || exit 1; \
	done

cdk-check:
	@test -x $(CDK) || { echo "missing $(CDK): run 'make deps' to install the pinned aws-cdk CLI"; exit 1; }

# synth needs no AWS credentials: the stack is environment-agnostic unless
# cdk.json sets account and region. IMDS is off so that the CLI does not
# look for instance credentials.
synth: lambdas cdk-check ## write the CloudFormation template of ENV (dev|prod) to cdk.out/
	AWS_EC2_METADATA_DISABLED=true $(CDK_ENV) $(CDK) synth $(CDK_FLAGS) --quiet
	@echo "template: cdk.out/Mqcron.template.json (env $(ENV))"

diff: lambdas cdk-check ## compare the stack of ENV with the deployed one (needs AWS credentials)
	$(CDK_ENV) $(CDK) diff $(CDK_FLAGS)

deploy: lambdas cdk-check ## deploy the stack of ENV (dev|prod) with the current AWS credentials
	$(CDK_ENV) $(CDK) deploy $(CDK_FLAGS) $(DEPLOY_FLAGS)

bootstrap: cdk-check ## prepare the current AWS account and region for cdk deploy (once per account and region)
	$(CDK_ENV) $(CDK) bootstrap $(CDK_FLAGS)

diagram: ## render assets/architecture.dot to PNG and SVG (needs Graphviz)
	@command -v dot >/dev/null || { echo "missing dot: install Graphviz (apt-get install graphviz)"; exit 1; }
	dot -Tsvg assets/architecture.dot -o assets/architecture.svg
	dot -Tpng -Gdpi=110 assets/architecture.dot -o assets/architecture.png

lint-ci: ## check .github/workflows with actionlint
	@command -v actionlint >/dev/null || test -x "$$($(GO) env GOPATH)/bin/actionlint" || \
		$(GO) install github.com/rhysd/actionlint/cmd/actionlint@v1.7.7
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" actionlint
