import * as z from 'zod';

/*
 * What SES publishes on the default EventBridge bus for a mail sent through a configuration set
 * whose event destination is EventBridge (AWS SES developer guide, "Monitoring SES events using
 * Amazon EventBridge" and "Examples of event data that Amazon SES publishes"): the EventBridge
 * envelope (`source` aws.ses, `detail-type` "Email Bounced"...) around SES's event record
 * (`detail`: `eventType`, the `mail` object and one object per event type).
 *
 * Only what handle-mail-events reads is required; everything else SES adds passes through (loose
 * objects), so a field AWS adds later never fails a delivery. The records hold addresses: they are
 * parsed, never logged.
 */

const Address = z.string().min(3).max(320);
const Instant = z.string().refine((value) => !Number.isNaN(Date.parse(value)), 'must be an ISO instant');

/** The `mail` object of every event: the mail the event is about. `tags` holds the SendEmail tags and SES's own (`ses:configuration-set`...). */
export const SesMailSchema = z.looseObject({
  timestamp: Instant,
  messageId: z.string().min(1).max(256),
  destination: z.array(Address).default([]),
  tags: z.record(z.string(), z.array(z.string())).optional(),
});

export const BOUNCE_TYPES = ['Undetermined', 'Permanent', 'Transient'] as const;

export const SesBounceSchema = z.looseObject({
  bounceType: z.enum(BOUNCE_TYPES),
  bounceSubType: z.string(),
  bouncedRecipients: z.array(z.looseObject({ emailAddress: Address })).min(1),
  timestamp: Instant,
  feedbackId: z.string().optional(),
});

export const SesComplaintSchema = z.looseObject({
  complainedRecipients: z.array(z.looseObject({ emailAddress: Address })).min(1),
  timestamp: Instant,
  feedbackId: z.string().optional(),
  /** abuse, auth-failure, fraud, not-spam, other, virus; absent when the ISP sends no feedback report. */
  complaintFeedbackType: z.string().optional(),
});

export const SesDeliverySchema = z.looseObject({
  timestamp: Instant,
  recipients: z.array(Address).min(1),
  processingTimeMillis: z.number().optional(),
  smtpResponse: z.string().optional(),
});

/** SES refused to send the mail (a virus in it): no recipient, the mail's `destination` says whom it was for. */
export const SesRejectSchema = z.looseObject({ reason: z.string() });

export const SesEventDetailSchema = z.discriminatedUnion('eventType', [
  z.looseObject({ eventType: z.literal('Bounce'), mail: SesMailSchema, bounce: SesBounceSchema }),
  z.looseObject({ eventType: z.literal('Complaint'), mail: SesMailSchema, complaint: SesComplaintSchema }),
  z.looseObject({ eventType: z.literal('Delivery'), mail: SesMailSchema, delivery: SesDeliverySchema }),
  z.looseObject({ eventType: z.literal('Reject'), mail: SesMailSchema, reject: SesRejectSchema }),
]);
export type SesEventDetail = z.infer<typeof SesEventDetailSchema>;

/** The EventBridge `detail-type` of each event type the configuration set publishes (the rule matches these). */
export const SES_DETAIL_TYPES = {
  Bounce: 'Email Bounced',
  Complaint: 'Email Complaint Received',
  Delivery: 'Email Delivered',
  Reject: 'Email Rejected',
} as const satisfies Record<SesEventDetail['eventType'], string>;

/** The EventBridge event handle-mail-events receives. */
export const SesEventBridgeEventSchema = z.looseObject({
  version: z.string().optional(),
  id: z.string().min(1),
  'detail-type': z.enum(Object.values(SES_DETAIL_TYPES) as [string, ...string[]]),
  source: z.literal('aws.ses'),
  time: Instant.optional(),
  detail: SesEventDetailSchema,
});
export type SesEventBridgeEvent = z.infer<typeof SesEventBridgeEventSchema>;

/**
 * What is wrong with an event that fails SesEventBridgeEventSchema, safe to log: each issue's path
 * and code (`detail.eventType: invalid_union`), never a value nor zod's message (the events are full
 * of addresses).
 */
export function sesEventIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.map(String).join('.') || '(event)'}: ${issue.code}`);
}

/** The SES tag that names the configuration set a mail went through (the rule matches on it). */
export const CONFIGURATION_SET_TAG = 'ses:configuration-set';

/**
 * The environment of handle-mail-events: the table (reviewers, notifications), and the sender and
 * configuration set of the staff mail it sends (the same variables as the round steps').
 */
export const MailEventsEnvSchema = z.object({
  TABLE_NAME: z.string().trim().min(1, 'must not be empty'),
  MAIL_FROM: z.email('must be an email address (an SES-verified identity)').optional(),
  SES_CONFIGURATION_SET: z.string().trim().min(1, 'must not be empty').optional(),
});
export type MailEventsEnv = z.infer<typeof MailEventsEnvSchema>;
