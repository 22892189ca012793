// Package lambdas holds the Lambda entry points: scheduler and dispatcher.
package lambdas
