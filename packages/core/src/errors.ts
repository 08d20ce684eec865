/** Typed errors. Every message names the offending field (or plugin and option) and its value. */

export class TlblabError extends Error {
  override name = 'TlblabError';
}

/** A machine, kernel or cell config field is invalid. */
export class ConfigError extends TlblabError {
  override name = 'ConfigError';
  readonly field: string;
  readonly value: unknown;
  constructor(message: string, detail: { field: string; value: unknown }) {
    super(message);
    this.field = detail.field;
    this.value = detail.value;
  }
}

/** A scenario's program used the DSL wrongly (an area used before it is mapped, a task switched to
 *  before it is spawned ...): the scenario is broken, not the strategy or the machine. */
export class ScenarioError extends TlblabError {
  override name = 'ScenarioError';
  readonly scenario: string;
  constructor(scenario: string, reason: string) {
    super(`scenario '${scenario}' is broken: ${reason}`);
    this.scenario = scenario;
  }
}

/** A plugin's options (strategy or scenario params) failed its schema. */
export class PluginOptionError extends TlblabError {
  override name = 'PluginOptionError';
  readonly plugin: string;
  readonly option: string;
  readonly value: unknown;
  constructor(plugin: string, option: string, value: unknown, reason: string) {
    super(`${plugin}: option '${option}' = ${JSON.stringify(value)}: ${reason}`);
    this.plugin = plugin;
    this.option = option;
    this.value = value;
  }
}
