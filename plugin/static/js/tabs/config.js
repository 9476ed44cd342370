/* The configuration page of the team tab: confirm, then tell Teams what to show (pages.config). */
import {$, TabProblem, run, t} from "./common.js";

const ENTITY_ID = "ambassador-team";
const DISPLAY_NAME = "Ambassador";

function status(text) {
  $("config-status").textContent = text;
}

run(async (context) => {
  const config = window.microsoftTeams.pages.config;
  if (!context.team || !context.team.groupId) throw new TabProblem("no_team");
  const channel = context.channel && context.channel.displayName;
  $("where").textContent = channel ? t("team_channel", {team: context.team.displayName, channel: channel})
    : context.team.displayName;

  config.registerOnSaveHandler((saveEvent) => {
    status(t("saving"));
    // Teams fills {groupId}, {locale} and {theme} each time it opens the tab.
    const contentUrl = `${window.location.origin}/tabs/team?team={groupId}&locale={locale}&theme={theme}`;
    config.setConfig({contentUrl: contentUrl, entityId: ENTITY_ID, suggestedDisplayName: DISPLAY_NAME}).then(
      () => saveEvent.notifySuccess(),
      (error) => {
        status(t("save_failed"));
        saveEvent.notifyFailure((error && error.message) || "setConfig failed");
      });
  });
  config.setValidityState(true);
  status(t("ready"));
});
