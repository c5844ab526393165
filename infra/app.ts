import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { DsSelectionStack, stackName } from '#infra/ds-selection-stack';
import { loadStageConfig, StageConfigError } from '#infra/stage-config';

/**
 * The CDK app: one stack per stage, the stage picked with `-c stage=NAME` (default `dev`,
 * from cdk.json) and described by infra/stages/NAME.json.
 *
 *   npx cdk synth                      # dev
 *   npx cdk deploy -c stage=prod
 *
 * cdk-nag's AwsSolutions pack runs at every synth: an unacknowledged finding fails it.
 */
const app = new App();
const stageName = String(app.node.tryGetContext('stage') ?? 'dev');

let stage;
try {
  stage = loadStageConfig(stageName);
} catch (error) {
  if (error instanceof StageConfigError) {
    console.error(error.message);
    process.exit(1);
  }
  throw error;
}

new DsSelectionStack(app, stackName(stage.name), {
  stage,
  env: { account: stage.account ?? process.env.CDK_DEFAULT_ACCOUNT, region: stage.region },
});

Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
