import * as z from 'zod';
import { FormMappingSchema, type FormMapping } from '#schemas/eig-form';
import { ConfigurationError } from '#core/errors';
import eigFormMapping from '../../schemas/eig-form-mapping.json' with { type: 'json' };

/** The EIG form mapping, validated when the module loads: a bad mapping stops the function at cold start. */
function loadFormMapping(raw: unknown): FormMapping {
  const parsed = FormMappingSchema.safeParse(raw);
  if (!parsed.success) throw new ConfigurationError(`Invalid form mapping:\n${z.prettifyError(parsed.error)}`);
  return parsed.data;
}

export const EIG_FORM_MAPPING: FormMapping = loadFormMapping(eigFormMapping);
