import * as z from 'zod';
import {
  DEFAULT_ROUNDS_CONFIG, ROUNDS_CONFIG_NAMES, RoundsConfigNameSchema, RoundsConfigSchema, type RoundsConfig, type RoundsConfigName,
} from '#schemas/rounds';
import { ConfigurationError } from '#core/errors';
import roundsConfig2024 from '../../schemas/rounds-config.json' with { type: 'json' };
import roundsConfig2022 from '../../schemas/rounds-config-2022.json' with { type: 'json' };

/**
 * The rounds configuration (capacity, yearly ceiling, criteria, staff, sender), validated when
 * the module loads: a bad file stops the function at cold start, and `cdk synth` too (the stack
 * derives the sender's SES identity from it).
 *
 * Every file is imported statically, so the bundler puts all of them in each Lambda and a
 * deployment picks one by name (`ROUNDS_CONFIG`, set by the stack from the stage file's
 * `roundsConfig`) without reading the file system. Reference: docs/configuration.md.
 */

export const ROUNDS_CONFIG_FILES: Readonly<Record<RoundsConfigName, { file: string; raw: unknown }>> = {
  'eig-2024': { file: 'schemas/rounds-config.json', raw: roundsConfig2024 },
  'eig-2022': { file: 'schemas/rounds-config-2022.json', raw: roundsConfig2022 },
};

export function parseRoundsConfig(raw: unknown, source = 'schemas/rounds-config.json'): RoundsConfig {
  const parsed = RoundsConfigSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigurationError(`Invalid rounds configuration (${source}):\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

/** The bundled configuration of this name, validated. */
export function roundsConfigNamed(name: RoundsConfigName): RoundsConfig {
  const { file, raw } = ROUNDS_CONFIG_FILES[name];
  return parseRoundsConfig(raw, file);
}

/** The name in `ROUNDS_CONFIG` (unset or empty: the default, `eig-2024`); a wrong one names the variable and the choices. */
export function roundsConfigName(value: string | undefined): RoundsConfigName {
  if (value === undefined || value.trim() === '') return DEFAULT_ROUNDS_CONFIG;
  const parsed = RoundsConfigNameSchema.safeParse(value.trim());
  if (!parsed.success) throw new ConfigurationError(`ROUNDS_CONFIG: "${value}" is not a rounds configuration: use one of ${ROUNDS_CONFIG_NAMES.join(', ')}`);
  return parsed.data;
}

/** Every bundled file is checked at load, the one not picked too: a broken file fails `cdk synth` and the tests, not a later deploy. */
const ALL: Readonly<Record<RoundsConfigName, RoundsConfig>> = Object.fromEntries(
  ROUNDS_CONFIG_NAMES.map((name) => [name, roundsConfigNamed(name)]),
) as Record<RoundsConfigName, RoundsConfig>;

export const ROUNDS_CONFIG_NAME: RoundsConfigName = roundsConfigName(process.env.ROUNDS_CONFIG);
export const ROUNDS_CONFIG: RoundsConfig = ALL[ROUNDS_CONFIG_NAME];

/** A bundled configuration by name, already validated. */
export const roundsConfigOf = (name: RoundsConfigName): RoundsConfig => ALL[name];
