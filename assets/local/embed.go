// Package local contains the configuration files that mqcron's local mode
// renders into its data folder: the ActiveMQ broker configuration and its
// log4j settings, and the mosquitto configuration.
package local

import "embed"

// Files contains activemq.xml.tmpl, log4j.properties, mosquitto.conf.tmpl
// and dynalite-launcher.js. The .tmpl files are text/template sources.
//
//go:embed activemq.xml.tmpl log4j.properties mosquitto.conf.tmpl dynalite-launcher.js
var Files embed.FS
